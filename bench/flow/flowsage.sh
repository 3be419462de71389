#!/usr/bin/env bash
# flowsage under bench.sh's `custom` mode: one subcommand per hook.
#
#   START_CMD="$HERE/flowsage.sh start"     config in $RUNDIR, exec `flowsage serve`
#   READY_CMD="$HERE/flowsage.sh ready"     /healthz answers; first counter snapshot
#   PRESTOP_CMD="$HERE/flowsage.sh prestop" /metrics, thread CPU, unread socket bytes
#   COUNT_CMD="$HERE/flowsage.sh count"     rows in `flows` after exit, via `flowsage mcp`
#
# `count` prints the rows stored and appends the run's loss accounting to
# $ACCT_CSV when that is set (see flowsage_probe.py). The run directory holds
# the config, the embedded store's data, the server's log and the snapshots.
#
# FLOWSAGE: the binary (default: the release build of this worktree).
# RCVBUF: socket receive buffer asked for, the same as the peers get.
# FLOW_BATCH_ROWS: a diagnostic only; when set, flow.batch_rows instead of the
#   default (run_flowsage.sh never sets it: its figures are flowsage's defaults).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FLOWSAGE=${FLOWSAGE:-${CARGO_TARGET_DIR:-$REPO/target}/release/flowsage}
: "${RUNDIR:?set by bench.sh}" "${PORT:?set by bench.sh}"
CONFIG=$RUNDIR/flowsage.toml

mcp_base() {
  # serve.json holds the MCP URL of the ephemeral port: http://127.0.0.1:N/mcp
  sed -n 's/.*"mcp_url": *"\(http[^"]*\)\/mcp".*/\1/p' "$RUNDIR/data/serve.json" 2>/dev/null
}

case ${1:-} in
  start)
    # Everything not written here is flowsage's default, batching included
    # (flow.batch_rows, flow.batch_interval_ms, the queues, the spool).
    cat > "$CONFIG" <<EOF
[store]
backend = "embedded"
data_dir = "data"
driver = "chdb"

[flow]
listen = ["127.0.0.1:$PORT"]
receive_buffer_bytes = ${RCVBUF:-4194304}
${FLOW_BATCH_ROWS:+batch_rows = $FLOW_BATCH_ROWS}

[mcp]
listen = "127.0.0.1:0"

[log]
level = "info"
EOF
    exec "$FLOWSAGE" -c "$CONFIG" serve
    ;;
  ready)
    base=$(mcp_base)
    [ -n "$base" ] || exit 1
    curl -sf --max-time 2 "$base/healthz" > /dev/null || exit 1
    curl -sf --max-time 5 "$base/metrics" > "$RUNDIR/metrics.0"
    python3 "$HERE/flowsage_probe.py" threads "$CPID" > "$RUNDIR/threads.0"
    ;;
  prestop)
    base=$(mcp_base)
    curl -sf --max-time 10 "$base/metrics" > "$RUNDIR/metrics.1" || echo "could not scrape $base/metrics" >&2
    python3 "$HERE/flowsage_probe.py" threads "$CPID" > "$RUNDIR/threads.1"
    # Bytes still queued on the socket: flowsage stops reading at shutdown,
    # so these would be lost without a counter of its own.
    python3 "$HERE/flowsage_probe.py" rxq "$PORT" > "$RUNDIR/rxq.1"
    ;;
  count)
    python3 "$HERE/flowsage_probe.py" count "$FLOWSAGE" "$CONFIG"
    ;;
  *)
    echo "usage: $0 start|ready|prestop|count (as bench.sh hooks)" >&2
    exit 2
    ;;
esac

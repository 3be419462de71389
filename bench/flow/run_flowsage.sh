#!/usr/bin/env bash
# flowsage side by side with nfcapd and nfacctd (NetFlow v9, IPFIX) and with
# sfacctd (sFlow v5; Debian's nfdump has no sFlow collector), in one run:
# the same generated pools, the same offered rates, runs alternating between
# collectors at each rate. A collector stops climbing at its first loss.
# Ends with the summary and ratios of ratios.py.
#
# usage: run_flowsage.sh [quick|full]
#   quick  3 s per run, 1 run per rate, a short grid       (about 3-4 minutes)
#   full   4 s per run, 2 runs per rate, the whole grid    (11-15 minutes)
# Environment:
#   FLOWSAGE        the binary (default: $CARGO_TARGET_DIR or target/, release)
#   WORK            where the sender, the sink and the pools are built (/tmp/flowsage-bench)
#   OUT             the runs' CSV (default results/flowsage-MODE-DATE.csv; the
#                   loss accounting of flowsage's runs goes next to it, -accounting.csv)
#   MAX_SECONDS     no run starts after this many seconds (quick 300, full 1020)
#   AUTOGROUP_NICE  e.g. -20: raise this session's scheduler autogroup while it
#                   runs (restored at exit), as run_sweep.sh does on a shared box
#   V9_RATES, IPFIX_RATES, SFLOW_RATES, SECS, RUNS override the mode's grid
# Only 127.0.0.1; every run is bounded by bench.sh (SECS of sending, bounded waits).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MODE=${1:-full}
case $MODE in
  quick)
    : "${SECS:=3}" "${RUNS:=1}" "${MAX_SECONDS:=300}"
    : "${V9_RATES:=10000 20000 40000 70000}" "${IPFIX_RATES:=10000 20000 40000 70000}"
    : "${SFLOW_RATES:=20000 50000 80000}" ;;
  full)
    : "${SECS:=4}" "${RUNS:=2}" "${MAX_SECONDS:=1020}"
    : "${V9_RATES:=10000 15000 20000 30000 40000 50000 60000 70000}"
    : "${IPFIX_RATES:=10000 15000 20000 30000 40000 50000 60000 70000}"
    : "${SFLOW_RATES:=10000 20000 40000 60000 80000}" ;;
  *) echo "usage: $0 [quick|full]" >&2; exit 2 ;;
esac
export FLOWSAGE=${FLOWSAGE:-${CARGO_TARGET_DIR:-$REPO/target}/release/flowsage}
WORK=${WORK:-/tmp/flowsage-bench}
OUT=${OUT:-$HERE/results/flowsage-$MODE-$(date +%Y%m%d-%H%M).csv}
export ACCT_CSV=${OUT%.csv}-accounting.csv
export BLAST=$WORK/flowblast SINK=$WORK/udpsink POOLDIR=$WORK DRAIN=${DRAIN:-2}

# Preflight: everything present, nothing left over from an earlier run.
for tool in nfcapd nfacctd sfacctd curl cc python3 taskset ss; do
  command -v $tool > /dev/null || { echo "missing $tool (apt-get install nfdump pmacct curl)" >&2; exit 1; }
done
[ -x "$FLOWSAGE" ] || { echo "no flowsage binary at $FLOWSAGE: cargo build --release" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs: the sender on one, the collector on the other" >&2; exit 1; }
mkdir -p "$WORK" "$(dirname "$OUT")"
cc -O2 -o "$BLAST" "$HERE/flowblast.c" && cc -O2 -o "$SINK" "$HERE/udpsink.c" || exit 1
for v in 9:v9 10:ipfix 5:sflow; do
  python3 "$HERE/genflows.py" --version ${v%%:*} -o "$WORK/${v#*:}.bin" > /dev/null || exit 1
done
: > "$OUT"; : > "$ACCT_CSV"
echo "collector,format,offered_pps,secs,sent_pkts,sent_recs,stored_recs,loss_pct,stored_rps,cpu_s,recs_per_cpu_s,maxrss_kb,sock_drops_pkts,load1,host_udp_rcvbuf_errors" > "$OUT"

if [ -n "${AUTOGROUP_NICE:-}" ] && [ -w /proc/self/autogroup ]; then
  old=$(awk '{print $3}' /proc/self/autogroup); echo "$AUTOGROUP_NICE" > /proc/self/autogroup
  trap 'echo $old > /proc/self/autogroup' EXIT
fi

run_one() { # collector format rate
  if [ "$1" = flowsage ]; then
    COLLECTOR_NAME=flowsage START_CMD="$HERE/flowsage.sh start" READY_CMD="$HERE/flowsage.sh ready" \
      PRESTOP_CMD="$HERE/flowsage.sh prestop" COUNT_CMD="$HERE/flowsage.sh count" \
      "$HERE/bench.sh" custom "$2" "$3" "$SECS" 1
  else
    "$HERE/bench.sh" "$1" "$2" "$3" "$SECS" 1
  fi
}

started=$(date +%s); cut_short=""
echo "# $MODE: ${SECS}s per run, $RUNS run(s) per rate; $(date -u +%FT%TZ); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for fmt in v9 ipfix sflow; do
  case $fmt in
    v9) rates=$V9_RATES; collectors="flowsage nfcapd nfacctd" ;;
    ipfix) rates=$IPFIX_RATES; collectors="flowsage nfcapd nfacctd" ;;
    sflow) rates=$SFLOW_RATES; collectors="flowsage sfacctd" ;;
  esac
  declare -A lost=(); turn=0
  for rate in $rates; do
    for rep in $(seq 1 "$RUNS"); do
      set -- $collectors; n=$#
      order=$(for i in $(seq 0 $((n - 1))); do j=$(( (i + turn) % n + 1 )); echo "${!j}"; done); turn=$((turn + 1))
      for c in $order; do
        [ -n "${lost[$c]:-}" ] && continue
        if [ $(( $(date +%s) - started + SECS + 20 )) -gt "$MAX_SECONDS" ]; then cut_short="$fmt at $rate pps"; break 4; fi
        line=$(run_one "$c" "$fmt" "$rate")
        [ -n "$line" ] || { echo "no result from $c $fmt $rate" >&2; continue; }
        echo "$line" >> "$OUT"
        echo "  [$(( $(date +%s) - started ))s] $line" >&2
        loss=$(echo "$line" | cut -d, -f8)
        [ "$loss" = "0.000" ] || lost[$c]=$rate
      done
    done
    all_lost=1; for c in $collectors; do [ -n "${lost[$c]:-}" ] || all_lost=0; done
    [ $all_lost = 1 ] && break
  done
  unset lost
done
[ -z "$cut_short" ] || echo "# time bound ($MAX_SECONDS s) reached before $cut_short: later runs not made" >&2
echo "# $(( $(date +%s) - started )) s; runs in $OUT, flowsage's accounting in $ACCT_CSV" >&2
python3 "$HERE/ratios.py" "$OUT" "$ACCT_CSV" --mode "$MODE" ${cut_short:+--cut-short "$cut_short"}

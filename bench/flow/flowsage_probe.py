#!/usr/bin/env python3
"""What flowsage.sh reads from a flowsage under test, standard library only.

  threads PID              CPU ticks of the process and of each live thread (JSON)
  rxq PORT                 bytes waiting on the UDP socket bound to 127.0.0.1:PORT
  count FLOWSAGE CONFIG    rows in `flows`, asked through `flowsage mcp` (query_sql)
                           after the server exited; prints them, and appends the
                           run's loss accounting to $ACCT_CSV when it is set

The accounting explains every record the sender sent and the table lacks:

  sent - stored = k * socket_drops + k * queue_drops + undecoded + rows_dropped + unexplained

k is records per datagram (the pool's datagrams all carry the same number);
socket drops come from /proc/net/udp (bench.sh), queue drops, decoded
datagrams and records from /metrics just before the stop, rows dropped by
reason from /metrics and from the server's last log line (which also covers
the batches written during shutdown). `unexplained` should be 0; when it is
not, the shortfall has no counter. Beside the losses: batches written and the
seconds the store took to accept them (flowsage_store_insert_seconds), and
the CPU seconds of the process by thread name over the measured window.
"""
import csv
import json
import os
import re
import subprocess
import sys
import threading
import time

PROTOCOL = "2025-06-18"
CPU_KEYS = ("window_s", "cpu_s", "cpu_tokio_s", "cpu_chdb_writer_s", "cpu_merges_s", "cpu_other_s")


def threads(pid):
    def ticks(stat):
        # comm may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])

    with open(f"/proc/{pid}/stat") as f:
        total = ticks(f.read())
    per_thread = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        per_thread[tid] = [comm, ticks(stat)]
    print(json.dumps({"at": time.time(), "total": total, "threads": per_thread}))


def rxq(port):
    queued = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == int(port):
                queued += int(fields[4].split(":")[1], 16)
    print(queued)


def mcp_count(flowsage, config):
    """SELECT count() FROM flows through `flowsage mcp` over stdio (newline-delimited JSON-RPC)."""
    proc = subprocess.Popen(
        [flowsage, "-c", config, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = threading.Timer(90, proc.kill)  # bounded: the engine opens the data in seconds
    timer.start()
    try:
        def call(message):
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            if "id" not in message:
                return None
            for line in proc.stdout:
                reply = json.loads(line)
                if reply.get("id") == message["id"]:
                    return reply
            raise RuntimeError("flowsage mcp closed stdout: " + proc.stderr.read()[-2000:])

        call({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "flowsage-bench", "version": "0"}}})
        call({"jsonrpc": "2.0", "method": "notifications/initialized"})
        reply = call({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "query_sql", "arguments": {"sql": "SELECT count() AS rows FROM flows"}}})
        result = reply.get("result") or {}
        if result.get("isError") or "error" in reply:
            raise RuntimeError(f"query_sql failed: {reply}")
        output = result.get("structuredContent") or json.loads(result["content"][0]["text"])
        return int(output["rows"][0][0])  # ClickHouse JSON quotes 64-bit integers
    finally:
        timer.cancel()
        proc.stdin.close()
        proc.wait(timeout=30)


def metrics(path):
    """Prometheus text to {(name, labels): value}; absent file: {}."""
    samples = {}
    try:
        text = open(path).read()
    except OSError:
        return samples
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def total(samples, name, label=None):
    return int(sum(v for (n, labels), v in samples.items()
                   if n == name and (label is None or label in labels)))


def delta(before, after, name, label=None):
    return total(after, name, label) - total(before, name, label)


def cpu_split(rundir):
    """Seconds of CPU between the ready and prestop snapshots, by thread name:
    tokio workers (receive, decode, Arrow batches), the chDB writer thread
    (inserts), the engine's background merges (MergeMutate), and the rest
    (the engine's other pools, threads that ended)."""
    try:
        t0 = json.load(open(f"{rundir}/threads.0"))
        t1 = json.load(open(f"{rundir}/threads.1"))
    except (OSError, ValueError):
        return dict.fromkeys(CPU_KEYS, float("nan"))
    hz = os.sysconf("SC_CLK_TCK")
    groups = {"cpu_tokio_s": 0, "cpu_chdb_writer_s": 0, "cpu_merges_s": 0}
    for tid, (comm, ticks) in t1["threads"].items():
        spent = ticks - t0["threads"].get(tid, [comm, 0])[1]
        if comm.startswith("tokio"):
            groups["cpu_tokio_s"] += spent
        elif comm == "chdb-writer":
            groups["cpu_chdb_writer_s"] += spent
        elif comm.startswith("MergeMutate"):
            groups["cpu_merges_s"] += spent
    whole = t1["total"] - t0["total"]
    split = {"window_s": t1["at"] - t0["at"], "cpu_s": whole / hz}
    split.update({k: v / hz for k, v in groups.items()})
    split["cpu_other_s"] = (whole - sum(groups.values())) / hz
    return split


def final_log(rundir):
    """rows_written, rows_dropped and spool_batches from the server's last line."""
    try:
        text = open(f"{rundir}/out", errors="replace").read()
    except OSError:
        return {}
    found = {}
    for key in ("rows_written", "rows_dropped", "spool_batches"):
        values = re.findall(rf"\b{key}=(\d+)", text)
        if values:
            found[key] = int(values[-1])
    return found


def count(flowsage, config):
    rundir = os.environ["RUNDIR"]
    stored = mcp_count(flowsage, config)
    print(stored)

    acct_path = os.environ.get("ACCT_CSV")
    if not acct_path:
        return
    sent_pkts = int(os.environ.get("SENT_PKTS") or 0)
    sent_recs = int(os.environ.get("SENT_RECS") or 0)
    sock = int(os.environ.get("SOCK_DROPS") or 0)
    k = sent_recs // sent_pkts if sent_pkts else 0
    if sent_pkts and k * sent_pkts != sent_recs:
        print(f"warning: {sent_recs} records in {sent_pkts} datagrams is not a whole number "
              "per datagram; the per-datagram losses below are estimates", file=sys.stderr)

    m0, m1 = metrics(f"{rundir}/metrics.0"), metrics(f"{rundir}/metrics.1")
    received = delta(m0, m1, "flowsage_listener_datagrams_total")
    queue = delta(m0, m1, "flowsage_exporter_queue_drops_total")
    decoded = delta(m0, m1, "flowsage_exporter_datagrams_total")
    records = delta(m0, m1, "flowsage_exporter_records_total")
    errors = delta(m0, m1, "flowsage_exporter_decode_errors_total")
    dropped_by_reason = {
        reason: delta(m0, m1, "flowsage_writer_rows_dropped_total", f'reason="{reason}"')
        for reason in ("store_refused", "spool_full", "spool_write", "spool_corrupt", "arrow")}
    batches = delta(m0, m1, "flowsage_writer_batches_written_total")
    insert_s = (sum(v for (n, _), v in m1.items() if n == "flowsage_store_insert_seconds_sum")
                - sum(v for (n, _), v in m0.items() if n == "flowsage_store_insert_seconds_sum"))
    log = final_log(rundir)
    dropped = log.get("rows_dropped", sum(dropped_by_reason.values()))
    try:
        unread = int(open(f"{rundir}/rxq.1").read().strip() or 0)
    except (OSError, ValueError):
        unread = -1
    undecoded = k * decoded - records
    missing = sent_recs - stored
    explained = k * sock + k * queue + undecoded + dropped
    row = {
        "format": os.environ.get("FMT", ""),
        "offered_pps": os.environ.get("RATE", ""),
        "sent_pkts": sent_pkts,
        "sent_recs": sent_recs,
        "recs_per_pkt": k,
        "stored_rows": stored,
        "rows_written_log": log.get("rows_written", -1),
        "missing_recs": missing,
        "sock_drop_pkts": sock,
        "queue_drop_pkts": queue,
        "received_pkts": received,
        "decoded_pkts": decoded,
        "decoded_recs": records,
        "decode_errors": errors,
        "undecoded_recs": undecoded,
        "rows_dropped": dropped,
        "rows_dropped_by_reason": " ".join(f"{r}={n}" for r, n in dropped_by_reason.items() if n),
        "spool_batches_left": log.get("spool_batches", -1),
        "unread_bytes_at_stop": unread,
        "unexplained_recs": missing - explained,
        "batches_written": batches,
        "insert_s": f"{insert_s:.2f}",
        **{key: f"{value:.2f}" for key, value in cpu_split(rundir).items()},
    }
    new = not os.path.exists(acct_path) or os.path.getsize(acct_path) == 0
    with open(acct_path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def main():
    command, *args = sys.argv[1:] or [""]
    if command == "threads" and len(args) == 1:
        threads(args[0])
    elif command == "rxq" and len(args) == 1:
        rxq(args[0])
    elif command == "count" and len(args) == 2:
        count(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

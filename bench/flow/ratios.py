#!/usr/bin/env python3
"""Summary of one run_flowsage.sh run: loss-free rates, CPU per record, and
flowsage's ratios to the peers, all from the same CSV (the same run).

usage: ratios.py RUNS.csv [ACCOUNTING.csv] [--mode M] [--cut-short WHERE]

Loss-free rate of a collector: the highest offered rate at which it and every
lower rate had no loss in any run, given as the records per second the sender
actually sent there (on a busy machine the sender can fall short). A collector that never lost is loss-free
at least at the top of the grid (">="); one that lost at the lowest rate,
below it ("<"). Ratios built on such bounds are bounds too.

Records per CPU-second: records stored over the collector's CPU seconds
(all its threads and children) during the run, median over runs, compared at
the highest rate where both collectors were loss-free (the most load, the
least idle overhead). flowsage's figure includes the embedded store; its
decode path alone (the tokio threads: receive, decode, Arrow batches) comes
from the accounting CSV.
"""
import argparse
import csv
import math
import statistics

PEERS = {"v9": ["nfacctd", "nfcapd"], "ipfix": ["nfacctd", "nfcapd"], "sflow": ["sfacctd"]}
UNIT = {"v9": "records", "ipfix": "records", "sflow": "samples"}


def load(path):
    try:
        return list(csv.DictReader(open(path)))
    except OSError:
        return []


class Bound:
    """A loss-free rate: records/s actually sent at the loss-free offered rate
    (median over its runs), and how it is known: '=', '>=' or '<'."""

    def __init__(self, kind, rate, pps, sender_bound=False):
        self.kind, self.rate, self.pps, self.sender_bound = kind, rate, pps, sender_bound

    def __str__(self):
        prefix = {"=": "", ">=": ">= ", "<": "< "}[self.kind]
        note = " (the sender fell short of the offered rate)" if self.sender_bound else ""
        return f"{prefix}{self.rate / 1e6:.2f} M/s (offered {self.pps:,} pps){note}"


def loss_free(rows):
    by_rate = {}
    for r in rows:
        by_rate.setdefault(int(r["offered_pps"]), []).append(r)

    def sent_rate(pps):
        return statistics.median(int(r["sent_recs"]) / float(r["secs"]) for r in by_rate[pps])

    def offered(pps):
        r = by_rate[pps][0]
        return pps * int(r["sent_recs"]) / max(1, int(r["sent_pkts"]))

    best = None
    for pps in sorted(by_rate):
        if any(float(r["loss_pct"]) > 0 for r in by_rate[pps]):
            if best is None:
                return Bound("<", offered(pps), pps)
            break
        best = pps
    else:
        return Bound(">=", sent_rate(best), best, sent_rate(best) < 0.95 * offered(best))
    return Bound("=", sent_rate(best), best, sent_rate(best) < 0.95 * offered(best))


def ratio(ours, theirs):
    """ours / theirs with what the bounds allow us to say."""
    value = ours.rate / theirs.rate
    kinds = (ours.kind, theirs.kind)
    if kinds == ("=", "="):
        return f"{value:.2f}"
    if kinds in (("=", ">="), ("<", "="), ("<", ">=")):
        return f"< {value:.2f}" if ours.kind == "<" else f"<= {value:.2f}"
    if kinds in ((">=", "="), (">=", "<")):
        return f">= {value:.2f}"
    if kinds == ("=", "<"):
        return f"> {value:.2f}"
    return f"undetermined ({ours} vs {theirs})"


def median(values):
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("accounting", nargs="?")
    ap.add_argument("--mode", default="")
    ap.add_argument("--cut-short", default="")
    a = ap.parse_args()
    runs = load(a.runs)
    acct = load(a.accounting) if a.accounting else []

    print(f"\n== run_flowsage.sh {a.mode}: {len(runs)} runs, one CSV, ratios only within it ==")
    if a.cut_short:
        print(f"(time bound reached before {a.cut_short}: the grid is incomplete)")

    for fmt, peers in PEERS.items():
        rows = [r for r in runs if r["format"] == fmt]
        if not rows:
            continue
        by = {}
        for r in rows:
            by.setdefault(r["collector"], []).append(r)
        print(f"\n-- {fmt}: {UNIT[fmt]} per second, per offered rate (loss %, "
              f"{UNIT[fmt]} per CPU-second), median over runs --")
        names = ["flowsage"] + [p for p in peers if p in by]
        rates = sorted({int(r["offered_pps"]) for r in rows})
        print(f"{'pps':>8} " + " ".join(f"{n:>26}" for n in names))
        for pps in rates:
            cells = []
            for n in names:
                rs = [r for r in by.get(n, []) if int(r["offered_pps"]) == pps]
                if not rs:
                    cells.append(f"{'-':>26}")
                    continue
                loss = max(float(r["loss_pct"]) for r in rs)
                rpc = median([float(r["recs_per_cpu_s"]) for r in rs])
                cells.append(f"{f'loss {loss:.2f}%, {rpc / 1e6:.2f} M/CPU-s':>26}")
            print(f"{pps:>8} " + " ".join(cells))

        if "flowsage" not in by:
            continue
        ours = loss_free(by["flowsage"])
        print(f"loss-free: flowsage {ours}")
        for peer in peers:
            if peer not in by:
                continue
            theirs = loss_free(by[peer])
            print(f"loss-free: {peer} {theirs}  ->  flowsage / {peer} = {ratio(ours, theirs)}")

        for peer in peers:
            if peer not in by:
                continue
            common = []
            for pps in rates:
                a_rows = [r for r in by["flowsage"] if int(r["offered_pps"]) == pps]
                b_rows = [r for r in by[peer] if int(r["offered_pps"]) == pps]
                if a_rows and b_rows and all(float(r["loss_pct"]) == 0 for r in a_rows + b_rows):
                    common.append(pps)
            if not common:
                print(f"CPU: no rate where flowsage and {peer} were both loss-free")
                continue
            pps = max(common)
            ours_rpc = median([float(r["recs_per_cpu_s"]) for r in by["flowsage"]
                               if int(r["offered_pps"]) == pps])
            theirs_rpc = median([float(r["recs_per_cpu_s"]) for r in by[peer]
                                 if int(r["offered_pps"]) == pps])
            line = (f"CPU at {pps:,} pps (both loss-free): flowsage {ours_rpc / 1e6:.2f} M, {peer} "
                    f"{theirs_rpc / 1e6:.2f} M {UNIT[fmt]}/CPU-s  ->  flowsage / {peer} = "
                    f"{ours_rpc / theirs_rpc:.2f} (whole process, store included)")
            decode = [int(r["stored_rows"]) / float(r["cpu_tokio_s"]) for r in acct
                      if r["format"] == fmt and r["offered_pps"] == str(pps)
                      and r.get("cpu_tokio_s") not in (None, "", "nan")
                      and float(r["cpu_tokio_s"]) > 0]
            if decode:
                d = median(decode)
                line += (f"; decode path only (tokio threads) {d / 1e6:.2f} M/CPU-s = "
                         f"{d / theirs_rpc:.2f} x {peer}'s whole process")
            print(line)

    if acct:
        print("\n-- flowsage, every run: where records went (sent - stored = k x socket drops + "
              "k x queue drops + undecoded + rows dropped + unexplained, in records), the store's "
              "batches and insert seconds, and the CPU seconds by thread over the window --")
        print(f"{'fmt':>5} {'pps':>6} {'sent':>8} {'missing':>7} {'socket':>7} {'queue':>7} "
              f"{'undec.':>6} {'dropped':>7} {'unexpl.':>7} {'unread':>6} {'batches':>7} "
              f"{'insert s':>8} {'window':>6} {'CPU s':>5} {'tokio':>5} {'writer':>6} "
              f"{'merges':>6} {'other':>5}")
        for r in acct:
            k = int(r["recs_per_pkt"])
            print(f"{r['format']:>5} {int(r['offered_pps']):>6} {int(r['sent_recs']):>8} "
                  f"{int(r['missing_recs']):>7} {k * int(r['sock_drop_pkts']):>7} "
                  f"{k * int(r['queue_drop_pkts']):>7} {int(r['undecoded_recs']):>6} "
                  f"{int(r['rows_dropped']):>7} {int(r['unexplained_recs']):>7} "
                  f"{r['unread_bytes_at_stop']:>6} {r.get('batches_written', '-'):>7} "
                  f"{r.get('insert_s', '-'):>8} {r.get('window_s', '-'):>6} {r['cpu_s']:>5} "
                  f"{r['cpu_tokio_s']:>5} {r['cpu_chdb_writer_s']:>6} {r['cpu_merges_s']:>6} "
                  f"{r['cpu_other_s']:>5}")
        bad = [r for r in acct if int(r["unexplained_recs"]) != 0]
        print("accounting exact: every missing record is on a counter" if not bad
              else f"WARNING: {len(bad)} run(s) with records no counter explains")


if __name__ == "__main__":
    main()

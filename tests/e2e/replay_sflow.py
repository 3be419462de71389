#!/usr/bin/env python3
"""Samples a pcap with pmacct's sFlow probe and feeds the sFlow to flowsage and sfacctd.

pmacctd reads the capture and its sfprobe plugin sends sFlow v5 (1 in RATE
packets sampled, each as a raw Ethernet header) to a UDP tee on 127.0.0.1;
the tee forwards every datagram, in arrival order, to the collector under
test and to pmacct's own collector, sfacctd, whose print plugin writes what it
counted per flow key (addresses, ports, protocol): samples and their frame
lengths, not scaled by the sampling rate (sfacctd's renormalisation estimates
the rate from the sample pool instead of using the one the samples carry).
That listing is the reference the end-to-end test holds flowsage to.

pmacctd keeps running after the capture ends (pcap_savefile_wait), so the
probe's once-a-second flush sends its last, partly filled datagram; it is
stopped once the tee has been quiet for a while.

Prints one JSON object on stdout: the capture's span, the tee's counts, and
sfacctd's totals and flows. Every wait is bounded; on failure it prints the
reason on stderr and exits 1, leaving no process behind. Usage:
    replay_sflow.py PCAP RATE COLLECTOR_PORT WORK_DIR
with WORK_DIR an empty directory.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time

from replay import LOOPBACK, ReplayError, Tee, free_udp_port, pcap_span, program, read_text
from replay import udp_queue

SFACCTD_START_TIMEOUT_S = 10
# The capture is read in about a second; the probe flushes once a second.
PMACCTD_TIMEOUT_S = 60
# The tee counts as done once no datagram came for this long.
TEE_QUIET_S = 3
SFACCTD_DRAIN_TIMEOUT_S = 10
# sfacctd's print plugin writes what it counted every second (print_refresh_time).
SFACCTD_REFRESH_S = 1
STOP_TIMEOUT_S = 10
# The ifIndex the probe gives its one interface, as input; its output is
# 0x3FFFFFFF, the device itself.
PROBE_IF_INDEX = 7
PROTOCOL_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmp6": 58}


def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start(args, log_path):
    """Starts a pmacct daemon in a process group of its own (it forks its plugins)."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(proc):
    """SIGINT to the daemon's group, pmacct's way to shut down; SIGKILL if it lingers.
    Returns True if it exited on SIGINT."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=STOP_TIMEOUT_S)
        clean = True
    except subprocess.TimeoutExpired:
        clean = False
    except ProcessLookupError:
        clean = True
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # plugins left behind, if any
    except ProcessLookupError:
        pass
    proc.wait()
    return clean


def start_sfacctd(work_dir):
    """Starts sfacctd on a free loopback port; returns (process, port, csv path)."""
    port = free_udp_port()
    csv = os.path.join(work_dir, "sfacctd.csv")
    config = os.path.join(work_dir, "sfacctd.conf")
    log_path = os.path.join(work_dir, "sfacctd.log")
    write(config, [
        "daemonize: false",
        f"sfacctd_ip: {LOOPBACK}",
        f"sfacctd_port: {port}",
        "plugins: print[flows]",
        "aggregate[flows]: src_host, dst_host, src_port, dst_port, proto",
        "print_output[flows]: csv",
        f"print_output_file[flows]: {csv}",
        "print_output_file_append[flows]: true",
        f"print_refresh_time[flows]: {SFACCTD_REFRESH_S}",
    ])
    proc = start([program("sfacctd"), "-f", config], log_path)
    deadline = time.monotonic() + SFACCTD_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if udp_queue(port) is not None:
            return proc, port, csv, log_path
        time.sleep(0.05)
    stop(proc)
    raise ReplayError(f"in starting sfacctd: it did not listen; its log:\n{read_text(log_path)}")


def flow_samples(datagrams):
    """Counts the flow samples in sFlow v5 datagrams and the packets they
    stand for (the sum of their sampling rates), read from the datagrams
    themselves: a reference that does not depend on any collector keeping up
    (sfacctd drops samples silently when its buffers overrun)."""
    samples = packets = 0
    for data in datagrams:
        version, agent_type = struct.unpack_from("!II", data, 0)
        if version != 5:
            continue
        offset = 8 + (4 if agent_type == 1 else 16) + 12  # sub-agent, sequence, uptime
        (count,) = struct.unpack_from("!I", data, offset)
        offset += 4
        for _ in range(count):
            sample_type, length = struct.unpack_from("!II", data, offset)
            body = offset + 8
            fmt = sample_type & 0xFFF
            if fmt == 1:  # flow sample: sequence, source id, sampling rate
                samples += 1
                packets += struct.unpack_from("!I", data, body + 8)[0]
            elif fmt == 3:  # expanded: sequence, source type, source index, rate
                samples += 1
                packets += struct.unpack_from("!I", data, body + 12)[0]
            offset = body + length
    return {"flow_samples": samples, "sampled_packets": packets}


def run_pmacctd(pcap, rate, tee, work_dir):
    """Runs pmacctd's sFlow probe over `pcap` until the tee has been quiet."""
    config = os.path.join(work_dir, "pmacctd.conf")
    log_path = os.path.join(work_dir, "pmacctd.log")
    write(config, [
        "daemonize: false",
        f"pcap_savefile: {pcap}",
        "pcap_savefile_wait: true",
        "plugin_buffer_size: 1024",
        "plugins: sfprobe[probe]",
        f"sfprobe_receiver[probe]: {LOOPBACK}:{tee.port}",
        f"sfprobe_agentip[probe]: {LOOPBACK}",
        f"sfprobe_ifindex[probe]: {PROBE_IF_INDEX}",
        f"sampling_rate: {rate}",
    ])
    proc = start([program("pmacctd"), "-f", config], log_path)
    try:
        deadline = time.monotonic() + PMACCTD_TIMEOUT_S
        last_count, last_change = tee.datagrams, time.monotonic()
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ReplayError(f"in running pmacctd: it exited early:\n{read_text(log_path)}")
            if tee.datagrams != last_count:
                last_count, last_change = tee.datagrams, time.monotonic()
            elif last_count and time.monotonic() - last_change > TEE_QUIET_S:
                return
            time.sleep(0.05)
        raise ReplayError(
            f"in running pmacctd: the tee saw {tee.datagrams} datagrams and never went "
            f"quiet within {PMACCTD_TIMEOUT_S} s; its log:\n{read_text(log_path)}"
        )
    finally:
        stop(proc)


def sfacctd_flows(csv):
    """sfacctd's counts per flow key, summed over every refresh it wrote."""
    flows = {}
    for line in read_text(csv).splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) != 7 or cols[0] == "SRC_IP":
            continue
        src, dst, sport, dport, proto, packets, nbytes = cols
        protocol = PROTOCOL_NUMBERS.get(proto.lower())
        protocol = int(proto) if protocol is None else protocol
        key = (src, dst, int(sport), int(dport), protocol)
        counted = flows.setdefault(key, [0, 0])
        counted[0] += int(packets)
        counted[1] += int(nbytes)
    return [
        {"src": k[0], "dst": k[1], "src_port": k[2], "dst_port": k[3], "protocol": k[4],
         "packets": v[0], "bytes": v[1]}
        for k, v in sorted(flows.items())
    ]


def replay(pcap, rate, collector_port, work_dir):
    span = pcap_span(pcap)
    sfacctd, sfacctd_port, csv, sfacctd_log = start_sfacctd(work_dir)
    tee = None
    try:
        tee = Tee([(LOOPBACK, collector_port), (LOOPBACK, sfacctd_port)])
        tee.kept = []
        tee.start()
        run_pmacctd(pcap, rate, tee, work_dir)
        tee.close()
        if tee.error or not tee.datagrams:
            raise ReplayError(f"in the tee: {tee.datagrams} datagrams (error: {tee.error})")

        deadline = time.monotonic() + SFACCTD_DRAIN_TIMEOUT_S
        while udp_queue(sfacctd_port) not in (0, None) and time.monotonic() < deadline:
            time.sleep(0.02)
        if udp_queue(sfacctd_port):
            raise ReplayError("in draining sfacctd: datagrams still queued after the timeout")
        # Let the print plugin write its last refresh before stopping it.
        time.sleep(3 * SFACCTD_REFRESH_S)
        if not stop(sfacctd):
            raise ReplayError(f"in stopping sfacctd: no exit; its log:\n{read_text(sfacctd_log)}")
    finally:
        if tee is not None and tee.is_alive():
            tee.close()
        stop(sfacctd)

    flows = sfacctd_flows(csv)
    if not flows:
        raise ReplayError(f"in reading sfacctd's output: no flows; its log:\n{read_text(sfacctd_log)}")
    return {
        "pcap": span,
        "tee": {"datagrams": tee.datagrams, "bytes": tee.bytes, **flow_samples(tee.kept)},
        "sfacctd": {
            "flows": len(flows),
            "packets": sum(f["packets"] for f in flows),
            "bytes": sum(f["bytes"] for f in flows),
            "records": flows,
        },
    }


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    pcap, rate, collector_port, work_dir = sys.argv[1:]
    try:
        result = replay(pcap, int(rate), int(collector_port), work_dir)
    except (ReplayError, OSError, subprocess.SubprocessError) as err:
        print(f"replay_sflow: {err}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

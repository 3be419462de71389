#!/usr/bin/env python3
"""Exports the flows of a pcap with softflowd and feeds them to flowsage and nfcapd.

softflowd reads the capture and sends NetFlow v5, v9 or IPFIX to a UDP tee on
127.0.0.1; the tee forwards every datagram, in arrival order, first to the
collector under test and then to nfdump's nfcapd. nfcapd is stopped once it
has read everything, so it writes its file, and nfdump reports what it
decoded: the reference the end-to-end test holds flowsage to.

Prints one JSON object on stdout: the capture's time span, softflowd's and
the tee's counts, and nfdump's totals and flows. Every wait is bounded; on
any failure it prints the reason on stderr and exits 1, leaving no process
behind. It does not query flowsage: the test does that over MCP. Usage:
    replay.py PCAP VERSION COLLECTOR_PORT WORK_DIR
with VERSION 5 (NetFlow v5), 9 (NetFlow v9) or 10 (IPFIX) and WORK_DIR an
empty directory.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

LOOPBACK = "127.0.0.1"
# softflowd replays a capture in well under a second; this bounds a hang.
SOFTFLOWD_TIMEOUT_S = 60
# How long the tee waits for the datagrams softflowd says it sent.
TEE_TIMEOUT_S = 10
NFCAPD_START_TIMEOUT_S = 10
NFCAPD_DRAIN_TIMEOUT_S = 10
NFCAPD_STOP_TIMEOUT_S = 10
NFCAPD_START_ATTEMPTS = 3
NFDUMP_TIMEOUT_S = 60
# nfdump prints protocol names in CSV even with -N.
# Searched after PATH: softflowd lives in /usr/sbin, often not on a user's PATH.
SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"]
PROTOCOL_NUMBERS = {"ICMP": 1, "TCP": 6, "UDP": 17, "ICMP6": 58, "IPv6-ICMP": 58}


class ReplayError(Exception):
    pass


def program(name):
    """The path of an installed program; the test names the package when it is missing."""
    search = os.pathsep.join([os.environ.get("PATH", "")] + SBIN_DIRS)
    found = shutil.which(name, path=search)
    if found is None:
        raise ReplayError(f"{name} is not installed (scripts/test-deps installs it)")
    return found


def pcap_span(path):
    """First and last packet time (Unix ms) and packet count of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian = "<"
    elif magic == 0xD4C3B2A1:
        endian = ">"
    else:
        raise ReplayError(f"in {path}: not a microsecond pcap (magic {magic:#x})")
    offset, times = 24, []
    while offset + 16 <= len(data):
        sec, usec, captured, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        times.append(sec * 1000 + usec // 1000)
        offset += 16 + captured
    if not times:
        raise ReplayError(f"in {path}: no packets")
    return {"first_ms": min(times), "last_ms": max(times), "packets": len(times)}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start_nfcapd(flow_dir, log_path):
    """Starts nfcapd on a free loopback port; returns (process, port) once it listens."""
    last_log = ""
    for _ in range(NFCAPD_START_ATTEMPTS):
        port = free_udp_port()
        log = open(log_path, "w")
        proc = subprocess.Popen(
            [program("nfcapd"), "-w", flow_dir, "-b", LOOPBACK, "-p", str(port), "-t", "3600"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + NFCAPD_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            # Once its socket exists, datagrams wait in it until nfcapd reads them.
            if udp_queue(port) is not None:
                return proc, port
            time.sleep(0.05)
        last_log = read_text(log_path)
        stop(proc)
    raise ReplayError(f"in starting nfcapd: it did not start listening; its log:\n{last_log}")


def udp_queue(port):
    """Bytes waiting in the receive queue of the loopback UDP socket on `port`, or None."""
    wanted = f"{socket.htonl(0x7F000001):08X}:{port:04X}"
    for line in read_text("/proc/net/udp").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 4 and fields[1] == wanted:
            return int(fields[4].split(":")[1], 16)
    return None


def stop(proc, timeout=NFCAPD_STOP_TIMEOUT_S):
    """SIGTERM, then SIGKILL if it does not exit in time; returns True if it exited on SIGTERM."""
    if proc.poll() is not None:
        return True
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


class Tee(threading.Thread):
    """Receives datagrams on a loopback port and forwards each to every target, in order."""

    def __init__(self, targets):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.targets = targets
        self.datagrams = 0
        self.bytes = 0
        # Set `kept = []` before start to keep a copy of every datagram.
        self.kept = None
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stopping.is_set():
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    continue
                for target in self.targets:
                    self.out.sendto(data, target)
                self.datagrams += 1
                self.bytes += len(data)
                if self.kept is not None:
                    self.kept.append(data)
        except OSError as err:
            self.error = err

    def close(self):
        self.stopping.set()
        self.join(timeout=5)
        self.sock.close()
        self.out.close()


def run_softflowd(pcap, version, tee_port, work_dir):
    args = [
        program("softflowd"),
        "-r", pcap,
        "-v", str(version),
        # -a: flow times from the capture's clock, and the export header's
        # clock moved with it; without it the header carries today's time and
        # the flows last year's, so every collector computes wrong times.
        "-a",
        "-c", "none",
        "-d",
        "-p", os.path.join(work_dir, "softflowd.pid"),
        "-n", f"{LOOPBACK}:{tee_port}",
    ]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=SOFTFLOWD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise ReplayError(f"in running softflowd: no exit within {SOFTFLOWD_TIMEOUT_S} s") from err
    output = done.stdout + done.stderr
    found = re.search(
        r"Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)", output
    )
    if done.returncode != 0 or not found:
        raise ReplayError(f"in running softflowd (exit {done.returncode}):\n{output}")
    flows, records, datagrams, failures = map(int, found.groups())
    if failures:
        raise ReplayError(f"in running softflowd: {failures} export failures:\n{output}")
    return {"args": args[1:], "flows": flows, "records": records, "datagrams": datagrams}


def nfdump(flow_dir):
    """nfdump's totals (-I) and its flows (CSV) for every file in `flow_dir`."""
    info = subprocess.run(
        [program("nfdump"), "-R", flow_dir, "-I"],
        capture_output=True, text=True, timeout=NFDUMP_TIMEOUT_S, check=False,
    )
    if info.returncode != 0:
        raise ReplayError(f"in nfdump -I (exit {info.returncode}): {info.stderr}")
    stat = {}
    for line in info.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip().isdigit():
            stat[key.strip()] = int(value.strip())
    for key in ("Flows", "Bytes", "Packets", "First", "Last", "msec_first", "msec_last"):
        if key not in stat:
            raise ReplayError(f"in nfdump -I: no {key} line in:\n{info.stdout}")

    listing = subprocess.run(
        [program("nfdump"), "-R", flow_dir, "-N", "-q", "-o", "csv"],
        capture_output=True, text=True, timeout=NFDUMP_TIMEOUT_S, check=False,
    )
    if listing.returncode != 0:
        raise ReplayError(f"in nfdump -o csv (exit {listing.returncode}): {listing.stderr}")
    flows = []
    for line in listing.stdout.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 13 or cols[0] == "ts":
            continue
        protocol = PROTOCOL_NUMBERS.get(cols[7], None)
        if protocol is None:
            protocol = int(cols[7])
        # ts, te, td, sa, da, sp, dp, pr, flg, fwd, stos, ipkt, ibyt
        flows.append(
            {
                "src": cols[3],
                "dst": cols[4],
                "src_port": int(cols[5]),
                "dst_port": int(cols[6]),
                "protocol": protocol,
                "packets": int(cols[11]),
                "bytes": int(cols[12]),
            }
        )
    return {
        "flows": stat["Flows"],
        "bytes": stat["Bytes"],
        "packets": stat["Packets"],
        "flows_icmp": stat.get("Flows_icmp", 0),
        "first_ms": stat["First"] * 1000 + stat["msec_first"],
        "last_ms": stat["Last"] * 1000 + stat["msec_last"],
        "sequence_failures": stat.get("Sequence failures", 0),
        "records": flows,
    }


def replay(pcap, version, collector_port, work_dir):
    flow_dir = os.path.join(work_dir, "nfcapd")
    os.makedirs(flow_dir, exist_ok=True)
    nfcapd_log = os.path.join(work_dir, "nfcapd.log")
    span = pcap_span(pcap)

    nfcapd, nfcapd_port = start_nfcapd(flow_dir, nfcapd_log)
    tee = None
    try:
        tee = Tee([(LOOPBACK, collector_port), (LOOPBACK, nfcapd_port)])
        tee.start()
        softflowd = run_softflowd(pcap, version, tee.port, work_dir)

        deadline = time.monotonic() + TEE_TIMEOUT_S
        while tee.datagrams < softflowd["datagrams"] and time.monotonic() < deadline:
            time.sleep(0.02)
        tee.close()
        if tee.error or tee.datagrams != softflowd["datagrams"]:
            raise ReplayError(
                f"in the tee: forwarded {tee.datagrams} of {softflowd['datagrams']} datagrams "
                f"softflowd sent (error: {tee.error})"
            )

        # nfcapd drops what is still queued when it stops: wait until it has read it all.
        deadline = time.monotonic() + NFCAPD_DRAIN_TIMEOUT_S
        while udp_queue(nfcapd_port) not in (0, None) and time.monotonic() < deadline:
            time.sleep(0.02)
        queued = udp_queue(nfcapd_port)
        if queued:
            raise ReplayError(f"in draining nfcapd: {queued} bytes still queued after the timeout")
        if not stop(nfcapd):
            log = read_text(nfcapd_log)
            raise ReplayError(f"in stopping nfcapd: no exit on SIGTERM; its log:\n{log}")
    finally:
        if tee is not None and tee.is_alive():
            tee.close()
        stop(nfcapd)

    return {
        "pcap": span,
        "softflowd": softflowd,
        "tee": {"datagrams": tee.datagrams, "bytes": tee.bytes},
        "nfdump": nfdump(flow_dir),
    }


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    pcap, version, collector_port, work_dir = sys.argv[1:]
    try:
        result = replay(pcap, int(version), int(collector_port), work_dir)
    except (ReplayError, OSError, subprocess.SubprocessError) as err:
        print(f"replay: {err}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

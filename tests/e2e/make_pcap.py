#!/usr/bin/env python3
"""Writes a deterministic Ethernet pcap of TCP, UDP and ICMP packets.

The packets are what a flow exporter (softflowd, fprobe) reads with -r to
produce flows; every address is from the documentation ranges. Usage:
    make_pcap.py OUT.pcap [FLOWS] [PACKETS_PER_FLOW]
"""
import random
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def ipv6(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, src, dst) + payload


def main() -> None:
    out = sys.argv[1]
    flows = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    per_flow = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rng = random.Random(7)
    t0 = 1_764_770_400  # a fixed start second, so the capture is reproducible
    records = []
    for flow in range(flows):
        v6 = flow % 5 == 4
        if v6:
            src = bytes.fromhex("20010db8000000000000000000000000")[:15] + bytes([flow % 250 + 1])
            dst = bytes.fromhex("20010db8ffff00000000000000000000")[:15] + bytes([flow % 200 + 1])
        else:
            src = bytes([198, 51, 100, flow % 250 + 1])
            dst = bytes([203, 0, 113, flow % 200 + 1])
        proto = (6, 17, 1)[flow % 3] if not v6 else (6, 17)[flow % 2]
        sport, dport = 10_000 + flow, (443, 53, 80, 123, 22)[flow % 5]
        start = t0 + flow * 0.05
        for n in range(per_flow):
            size = rng.randint(40, 1400)
            if proto == 6:
                l4 = struct.pack("!HHIIBBHHH", sport, dport, n, 0, 0x50, 0x18, 65535, 0, 0)
            elif proto == 17:
                l4 = struct.pack("!HHHH", sport, dport, 8 + size, 0)
            else:
                l4 = struct.pack("!BBHHH", 8, 0, 0, flow, n)
            body = l4 + bytes(size)
            if v6:
                packet = ipv6(src, dst, proto, body)
                ethertype = 0x86DD
            else:
                packet = ipv4(src, dst, proto, body, (flow * per_flow + n) & 0xFFFF)
                ethertype = 0x0800
            frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", ethertype) + packet
            records.append((start + n * 0.01, frame))
    records.sort(key=lambda r: r[0])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1_000_000))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()

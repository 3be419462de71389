#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with starting inputs: the committed seeds in
# fuzz/seeds/, the test corpus's raw datagrams (.dat) and the UDP payloads
# of its captures for the decoder targets, and the captures themselves for
# the capture reader. The corpus directories are generated, not committed;
# libFuzzer adds what it finds to them.
set -euo pipefail
cd "$(dirname "$0")"
corpus=../ingest/tests/corpus

mkdir -p corpus/flow_datagram corpus/flow_templated corpus/capture
for target in flow_datagram flow_templated capture; do
    if [ -d "seeds/$target" ]; then
        cp seeds/"$target"/* "corpus/$target/"
    fi
done
find "$corpus" -name '*.dat' -exec cp {} corpus/flow_datagram/ \;
find "$corpus" -name '*.pcap' -o -name '*.pcapng' | while read -r capture; do
    cp "$capture" corpus/capture/
done

# The UDP payloads of the corpus captures (classic pcap, Ethernet or Linux
# SLL, IPv4 or IPv6), one file each: a reader of its own, so that seeding
# does not need the fuzz build.
python3 - "$corpus" corpus/flow_datagram <<'PY'
import pathlib
import struct
import sys

source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for capture in sorted(source.rglob("*.pcap")):
    data = capture.read_bytes()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    link = struct.unpack(order + "I", data[20:24])[0] & 0xFFFF
    at, index = 24, 0
    while at + 16 <= len(data):
        captured = struct.unpack(order + "I", data[at + 8:at + 12])[0]
        frame = data[at + 16:at + 16 + captured]
        at += 16 + captured
        ip = {1: frame[14:], 113: frame[16:]}.get(link)
        if not ip:
            continue
        version = ip[0] >> 4
        if version == 4 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4:]
        elif version == 6 and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        length = struct.unpack(">H", udp[4:6])[0]
        (target / f"{capture.stem}-{index:03}").write_bytes(udp[8:length])
        index += 1
PY
for target in flow_datagram flow_templated capture; do
    echo "fuzz/corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs"
done

#!/usr/bin/env bash
# Host-side cost of virtio-net (on a real TAP) and virtio-vsock (on real
# Unix sockets), with the driver played in-process: device threads and
# kernel objects only, no guest. Prints figures; asserts nothing.
# The guest-level benchmark (iperf3 over the TAP, vsock, against QEMU) is
# planned in notes/issue-6.md and needs a booting VMM.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/build/bench-virtio-host" "${BENCH_SECONDS:-3}"

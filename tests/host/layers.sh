#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The floors (tools/check-layers): the product includes only downwards, and
# the check itself catches an upward, a sideways and an off-floor include in
# a made-up tree, naming the file, the line and both floors.
. "$(dirname "$0")/../lib.sh"

check=$T_TOP/tools/check-layers
t_ok "the product's includes keep to the floors" "$check"

tmp=$(t_tmpdir)
mkdir -p "$tmp/vmm/kvm" "$tmp/vmm/cli" "$tmp/devices/virtio/net" "$tmp/devices/virtio/blk"
printf '#include "vmm/kvm/kvm.h"\n' >"$tmp/vmm/kvm/bus.c"
printf '#include "vmm/kvm/bus.h"\n#include "devices/virtio/net/net.h"\n' >"$tmp/vmm/cli/main.c"
t_ok "a made-up tree that includes downwards passes" "$check" "$tmp"

printf '/* the bus */\n#include <stdint.h>\n#include "vmm/cli/cli.h"\n' >"$tmp/vmm/kvm/bus.h"
out=$("$check" "$tmp" 2>&1)
t_eq "an upward include fails" 1 "$?"
t_match "it names the file, the line and both floors" \
	'vmm/kvm/bus.h:3: includes vmm/cli/cli.h upwards: floor 1 \(vmm/kvm/\) includes floor [0-9]+ \(vmm/cli/\)' "$out"
rm "$tmp/vmm/kvm/bus.h"

printf '#include "devices/virtio/blk/blk.h"\n' >"$tmp/devices/virtio/net/net.c"
out=$("$check" "$tmp" 2>&1)
t_eq "a sideways include (a sibling device) fails" 1 "$?"
t_match "it names both folders" \
	'devices/virtio/net/net.c:1: includes devices/virtio/blk/blk.h sideways: .*\(devices/virtio/net/\).*\(devices/virtio/blk/\)' "$out"
rm "$tmp/devices/virtio/net/net.c"

printf '#include "tests/unit/fake_queues.h"\n' >"$tmp/devices/virtio/blk/blk.c"
out=$("$check" "$tmp" 2>&1)
t_eq "an include from no floor fails" 1 "$?"
t_match "it says so" 'devices/virtio/blk/blk.c:1: includes tests/unit/fake_queues.h, which is on no floor' "$out"
t_done

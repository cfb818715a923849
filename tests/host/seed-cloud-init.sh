#!/usr/bin/env bash
# svmm seed cloud-init and svmm seed service: NoCloud seeds (label CIDATA)
# and service disks (label SERVICEDISK), checked with fsck.fat, blkid, mtools
# and a YAML parser.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-lib.sh"

tmp=$(t_tmpdir)
key1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk9 alice@example"
key2="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob"

# yaml IMG FILE EXPR: evaluate a Python expression on the parsed file (as y).
yaml() {
	mcopy -n -i "$1" "::/$2" - | python3 -c '
import sys, yaml
y = yaml.safe_load(sys.stdin)
print(eval(sys.argv[1]))' "$3" 2>&1
}

img=$tmp/ci.img
t_ok "cloud-init from flags: builds" "$T_SVMM" seed cloud-init --out "$img" \
	--instance-id iid-svc-7 --hostname svc-7 --ssh-key "$key1" --ssh-key "$key2" \
	--iface ens5 --address 172.30.0.2/24 --gateway 172.30.0.1 --dns 1.1.1.1 --dns 8.8.8.8
seed_fsck "cloud-init" "$img"
t_eq "cloud-init: label CIDATA" "CIDATA" "$(blkid -o value -s LABEL "$img")"
t_eq "cloud-init: blkid sees vfat" "vfat" "$(blkid -o value -s TYPE "$img")"
t_eq "cloud-init: root files" "meta-data network-config user-data" \
	"$(mdir -b -i "$img" ::/ | sed 's|^::/||' | sort | xargs)"
t_eq "meta-data: instance-id" "iid-svc-7" "$(yaml "$img" meta-data 'y["instance-id"]')"
t_eq "meta-data: local-hostname" "svc-7" "$(yaml "$img" meta-data 'y["local-hostname"]')"
t_eq "user-data: starts with #cloud-config" "#cloud-config" \
	"$(mcopy -n -i "$img" ::/user-data - | head -n1)"
t_eq "user-data: ssh_authorized_keys" "['$key1', '$key2']" \
	"$(yaml "$img" user-data 'y["ssh_authorized_keys"]')"
t_eq "network-config v2: version" "2" "$(yaml "$img" network-config 'y["version"]')"
t_eq "network-config v2: address" "['172.30.0.2/24']" \
	"$(yaml "$img" network-config 'y["ethernets"]["ens5"]["addresses"]')"
t_eq "network-config v2: default route" "[{'to': '0.0.0.0/0', 'via': '172.30.0.1'}]" \
	"$(yaml "$img" network-config 'y["ethernets"]["ens5"]["routes"]')"
t_eq "network-config v2: DNS" "['1.1.1.1', '8.8.8.8']" \
	"$(yaml "$img" network-config 'y["ethernets"]["ens5"]["nameservers"]["addresses"]')"

"$T_SVMM" seed cloud-init --out "$tmp/again.img" \
	--instance-id iid-svc-7 --hostname svc-7 --ssh-key "$key1" --ssh-key "$key2" \
	--iface ens5 --address 172.30.0.2/24 --gateway 172.30.0.1 --dns 1.1.1.1 --dns 8.8.8.8 >/dev/null
t_ok "cloud-init: the same flags give the same bytes" cmp "$img" "$tmp/again.img"

t_ok "network-config v1: builds" "$T_SVMM" seed cloud-init --out "$tmp/v1.img" \
	--instance-id i1 --iface eth0 --address 10.0.0.5/8 --gateway 10.0.0.1 --dns 10.0.0.1 \
	--network-version 1
t_eq "network-config v1: static subnet" \
	"[{'type': 'static', 'address': '10.0.0.5/8', 'gateway': '10.0.0.1'}]" \
	"$(yaml "$tmp/v1.img" network-config 'y["config"][0]["subnets"]')"
t_eq "network-config v1: nameserver" "['10.0.0.1']" \
	"$(yaml "$tmp/v1.img" network-config 'y["config"][1]["address"]')"
t_ok "DHCP: builds" "$T_SVMM" seed cloud-init --out "$tmp/dhcp.img" --instance-id i2 --iface eth0
t_eq "DHCP: dhcp4 true" "True" "$(yaml "$tmp/dhcp.img" network-config 'y["ethernets"]["eth0"]["dhcp4"]')"
t_ok "no --iface: builds" "$T_SVMM" seed cloud-init --out "$tmp/nonet.img" --instance-id i3
t_eq "no --iface: no network-config" "meta-data user-data" \
	"$(mdir -b -i "$tmp/nonet.img" ::/ | sed 's|^::/||' | sort | xargs)"

# cloud-init's own code (Debian's package, unpacked, not installed: it would
# run at this machine's next boot) reads the seeds as NoCloud does, checks
# user-data against its schema and renders network-config for networkd.
ci_lib() {
	local dir=${SVMM_CACHE:-/var/cache/svmm}/cloud-init
	if [[ ! -d $dir/x/usr/lib/python3/dist-packages/cloudinit ]]; then
		mkdir -p "$dir" && (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download cloud-init &&
			dpkg -x cloud-init_*.deb x) >/dev/null 2>&1 || return 1
	fi
	echo "$dir/x/usr/lib/python3/dist-packages"
}
# nocloud IMG: what cloud-init reads from the seed
nocloud() {
	local d
	d=$(t_tmpdir)
	mkdir "$d/seed" "$d/root"
	mcopy -n -i "$1" '::*' "$d/seed/" &&
		PYTHONPATH=$cilib /usr/bin/python3 "$(dirname "$0")/seed-nocloud.py" "$d/seed" "$d/root" 2>&1
}
if cilib=$(ci_lib); then
	out=$(nocloud "$img")
	t_match "cloud-init reads meta-data" $'instance-id: iid-svc-7\nlocal-hostname: svc-7' "$out"
	t_match "cloud-init: user-data passes its schema" $'user-data: valid cloud-config\nssh keys: 2' "$out"
	t_match "cloud-init renders v2: address, DNS, default route" \
		$'ens5.network: Address=172.30.0.2/24\n.*DNS=1.1.1.1 8.8.8.8\n.*Destination=0.0.0.0/0\n.*Gateway=172.30.0.1' "$out"
	out=$(nocloud "$tmp/v1.img")
	t_match "cloud-init renders v1: address, DNS, gateway" \
		$'eth0.network: Address=10.0.0.5/8\n.*DNS=10.0.0.1\n.*Gateway=10.0.0.1' "$out"
	out=$(nocloud "$tmp/nonet.img")
	t_match "cloud-init: a seed with no keys is valid cloud-config" "user-data: valid cloud-config" "$out"
else
	t_skip "cloud-init reads the seeds" "apt-get download cloud-init failed"
fi

# From files: copied byte for byte, vendor-data too; FAT32 as requested.
files=$tmp/files
mkdir "$files"
printf '#cloud-config\nruncmd:\n  - [sh, -c, "echo héllo > /tmp/x"]\n' >"$files/user-data"
printf 'instance-id: from-file\nlocal-hostname: filehost\n' >"$files/meta-data"
printf 'network:\n  version: 2\n  ethernets:\n    eth0: {dhcp4: true}\n' >"$files/network-config"
printf '#cloud-config\npackages: [curl]\n' >"$files/vendor-data"
t_ok "cloud-init from files: builds (FAT32)" "$T_SVMM" seed cloud-init --out "$tmp/files.img" \
	--fat 32 --user-data "$files/user-data" --meta-data "$files/meta-data" \
	--network-config "$files/network-config" --vendor-data "$files/vendor-data"
seed_fsck "cloud-init from files" "$tmp/files.img"
t_eq "cloud-init from files: FAT32" 32 "$(seed_fat_bits "$tmp/files.img")"
seed_same_tree "cloud-init from files" "$tmp/files.img" "$files"

# Errors name the flag or the file.
err() { "$T_SVMM" seed cloud-init --out "$tmp/err.img" "$@" 2>&1; }
t_match "no instance-id" "--instance-id is required" "$(err --hostname h)"
t_match "file and fields" "--meta-data and --instance-id" \
	"$(err --meta-data "$files/meta-data" --instance-id x)"
t_match "missing file" "--user-data '$tmp/nope': No such file" \
	"$(err --instance-id x --user-data "$tmp/nope")"
t_match "bad address" "--address '10.0.0.300/24'" \
	"$(err --instance-id x --iface eth0 --address 10.0.0.300/24)"
t_match "gateway without address" "--gateway needs --address" \
	"$(err --instance-id x --iface eth0 --gateway 10.0.0.1)"
t_match "bad hostname" "--hostname 'no_underscores'" "$(err --instance-id x --hostname no_underscores)"
t_match "bad ssh key" "--ssh-key 'oops'" "$(err --instance-id x --ssh-key oops)"
t_match "unknown flag" "unknown option '--frob'" "$(err --instance-id x --frob 1)"
t_ok "no image left after an error" test ! -e "$tmp/err.img"

# Service disk: the binary, the launch script, the keystore tree.
svc=$tmp/svc
mkdir -p "$svc/keystore/sr25519/keys" "$svc/keystore/ecdsa"
head -c 2000000 /dev/urandom >"$svc/service-binary"
printf '#!/bin/sh\nexport RPC_URL="http://172.30.0.1:9944"\nexec /srv/service run\n' >"$svc/launch.sh"
head -c 64 /dev/urandom >"$svc/keystore/sr25519/keys/0123456789abcdef0123456789abcdef"
head -c 32 /dev/urandom >"$svc/keystore/ecdsa/key"
t_ok "service disk: builds" "$T_SVMM" seed service --out "$tmp/svc.img" --fat 32 \
	--binary "$svc/service-binary" --launch "$svc/launch.sh" --keystore "$svc/keystore"
seed_fsck "service disk" "$tmp/svc.img"
t_eq "service disk: label SERVICEDISK" "SERVICEDISK" "$(blkid -o value -s LABEL "$tmp/svc.img")"
want=$tmp/svc-want
mkdir -p "$want"
cp "$svc/service-binary" "$want/service"
cp "$svc/launch.sh" "$want/launch"
cp -r "$svc/keystore" "$want/keystore"
seed_same_tree "service disk" "$tmp/svc.img" "$want"
t_match "service disk: a missing binary names the flag" "--binary '$tmp/nope': No such file" \
	"$("$T_SVMM" seed service --out "$tmp/x.img" --binary "$tmp/nope" 2>&1)"
t_ok "service disk from a directory: builds" "$T_SVMM" seed service --out "$tmp/svc2.img" "$want"
seed_same_tree "service disk from a directory" "$tmp/svc2.img" "$want"
t_done

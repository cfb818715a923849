#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Images on the host (images/oci.c, images/spec.c) through `svmm run`, with
# the agent on the host (tests/launchers/agent-on-host.sh): test images this
# test builds with tar, gzip, zstd, sha256sum and jq: layers as tar,
# tar+gzip and tar+zstd; a whiteout in an upper layer hides the lower file;
# an opaque directory; a corrupted blob refused naming its digest; a
# docker-save tarball and an OCI layout tarball; DIR:TAG; the cache; image
# config defaults and their overrides; a bundle with rlimits, seccomp,
# capabilities and noNewPrivileges.
. "$(dirname "$0")/../lib.sh"

tmp=$(t_tmpdir)
export SVMM_LAUNCHER=$T_TOP/tests/launchers/agent-on-host.sh
export SVMM_IMAGE_CACHE=$tmp/cache
mkdir -m 755 "$SVMM_IMAGE_CACHE" # as an operator may have made it
export SVMM_KERNEL=/dev/null SVMM_INITRD=/dev/null # no VM: not used
run() { timeout -k 5 120 "$T_SVMM" run --rm "$@"; }
busybox=$(command -v busybox)

# layer DIR OUT COMPRESSION: a tar of DIR's contents, compressed or not.
layer() {
	(cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		tar --numeric-owner --owner=0 --group=0 --no-recursion -T - -cf -) |
		case $3 in
		gzip) gzip -n ;;
		zstd) zstd -q -c ;;
		*) cat ;;
		esac >"$2"
}

# put_blob LAYOUT FILE: stores FILE by digest; prints "sha256:HEX SIZE".
put_blob() {
	local hex
	hex=$(sha256sum "$2" | cut -d' ' -f1)
	mkdir -p "$1/blobs/sha256"
	mv "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $(stat -c %s "$1/blobs/sha256/$hex")"
}

# mk_layout OUT CONFIG_JSON TAG LAYERDIR:COMPRESSION...
mk_layout() {
	local out=$1 cfg=$2 tag=$3 layers='[]' diff='[]' spec d c f digest size mt
	shift 3
	mkdir -p "$out"
	for spec in "$@"; do
		d=${spec%%:*} c=${spec##*:}
		f=$tmp/layer.$$.tar
		layer "$d" "$f" "$c"
		diff=$(jq -c --arg d "sha256:$( (case $c in gzip) zcat ;; zstd) zstd -dc ;; *) cat ;; esac) <"$f" | sha256sum | cut -d' ' -f1)" '. + [$d]' <<<"$diff")
		read -r digest size < <(put_blob "$out" "$f")
		case $c in gzip) mt=tar+gzip ;; zstd) mt=tar+zstd ;; *) mt=tar ;; esac
		layers=$(jq -c --arg d "$digest" --argjson s "$size" --arg mt "application/vnd.oci.image.layer.v1.$mt" \
			'. + [{mediaType: $mt, digest: $d, size: $s}]' <<<"$layers")
	done
	jq -n --argjson c "$cfg" --argjson diff "$diff" \
		'{architecture: "amd64", os: "linux", config: $c, rootfs: {type: "layers", diff_ids: $diff}}' >"$tmp/config.json"
	read -r cd cs < <(put_blob "$out" "$tmp/config.json")
	jq -n --arg cd "$cd" --argjson cs "$cs" --argjson l "$layers" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs}, layers: $l}' >"$tmp/manifest.json"
	read -r md ms < <(put_blob "$out" "$tmp/manifest.json")
	jq -n --arg md "$md" --argjson ms "$ms" --arg tag "$tag" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
		  platform: {architecture: "amd64", os: "linux"}, annotations: {"org.opencontainers.image.ref.name": $tag}}]}' >"$out/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
}

# --- the layers ---------------------------------------------------------------------------
l1=$tmp/l1 l2=$tmp/l2 l3=$tmp/l3
mkdir -p "$l1"/{bin,etc,a,d/sub,home/app} "$l2"/{a,d} "$l3"/z
cp "$busybox" "$l1/bin/busybox"
for x in sh ls cat id echo test grep wc mkdir touch; do ln -s busybox "$l1/bin/$x"; done
printf 'root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n' >"$l1/etc/passwd"
printf 'root:x:0:\napp:x:2345:\nextra:x:3456:app\n' >"$l1/etc/group"
echo one >"$l1/a/file1"
echo two >"$l1/a/file2"
echo old >"$l1/d/old"
echo deep >"$l1/d/sub/deep"
: >"$l2/a/.wh.file1"
: >"$l2/d/.wh..wh..opq"
echo new >"$l2/d/new"
echo zed >"$l3/z/file"
cfg='{"Env":["PATH=/bin","FROM_IMAGE=yes"],"Entrypoint":["/bin/sh","-c"],"Cmd":["echo default-cmd $FROM_IMAGE; id -u; id -G; pwd"],"WorkingDir":"/home/app","User":"app"}'
img=$tmp/img
mk_layout "$img" "$cfg" v1 "$l1:none" "$l2:gzip" "$l3:zstd"
t_eq "test image: layers are tar, tar+gzip, tar+zstd" "tar tar+gzip tar+zstd" \
	"$(jq -r '.layers[].mediaType' "$img/blobs/sha256/$(jq -r '.manifests[0].digest' "$img/index.json" | cut -d: -f2)" | sed 's/.*layer.v1.//' | xargs)"

# --- defaults from the image config, and overrides ---------------------------------------
out=$(run --image "$img" 2>&1)
t_eq "image defaults: Entrypoint+Cmd, Env, WorkingDir, User (a name) with its groups" \
	"$(printf 'default-cmd yes\n1234\n2345 3456\n/home/app')" "$out"
out=$(run --image "$img" -u 0 -w / -e FROM_IMAGE=cli -- 'echo $FROM_IMAGE $(id -u) $(pwd)' 2>&1)
t_eq "args replace Cmd (Entrypoint kept), -u -w -e override" "cli 0 /" "$out"

# a failed run keeps its state; a later process with the same PID gets run-PID-2
bash -c 'mkdir -p /run/svmm/containers/run-$$ && exec "$0" run --rm --image "$1" -- "echo pid-reused"' \
	"$T_SVMM" "$img" >"$tmp/reuse.out" 2>&1 &
pid=$!
wait "$pid"
t_eq "an unnamed run whose run-PID state is left over runs anyway" pid-reused "$(cat "$tmp/reuse.out")"
t_ok "... and that old state is left alone" rmdir "/run/svmm/containers/run-$pid"

hex=$(jq -r '.manifests[0].digest' "$img/index.json" | cut -d: -f2)
root=$SVMM_IMAGE_CACHE/$hex/rootfs
t_ok "unpacked into the cache by manifest digest" test -d "$root"
t_eq "the cache is its owner's alone (roots keep their setuid files)" 700 "$(stat -c %a "$SVMM_IMAGE_CACHE")"
t_ok "tar layer: /a/file2" test -f "$root/a/file2"
t_ok "whiteout: /a/file1 of layer 1 is hidden by layer 2" test ! -e "$root/a/file1"
t_ok "opaque dir: layer 1's /d/old is gone" test ! -e "$root/d/old"
t_ok "opaque dir: layer 1's /d/sub is gone" test ! -e "$root/d/sub"
t_eq "opaque dir: layer 2's /d/new stays" new "$(cat "$root/d/new" 2>/dev/null)"
t_eq "zstd layer: /z/file" zed "$(cat "$root/z/file" 2>/dev/null)"
t_eq "no whiteout file is left in the root" "" "$(find "$root" -name '.wh.*')"
out=$(run --image "$img" -u 0 -- 'ls /a; ls /d' 2>&1)
t_eq "the workload sees the merged layers" "$(printf 'file2\nnew')" "$out"
t_ok "the root disk (erofs) is cached next to it" test -s "$SVMM_IMAGE_CACHE/$hex/rootfs.erofs"

ino=$(stat -c %i:%Y "$root")
disk=$(stat -c %i:%Y "$SVMM_IMAGE_CACHE/$hex/rootfs.erofs")
run --image "$img" -- true >/dev/null 2>&1
t_eq "second run: the cached root is reused, not unpacked again" "$ino" "$(stat -c %i:%Y "$root")"
t_eq "second run: the cached disk is reused" "$disk" "$(stat -c %i:%Y "$SVMM_IMAGE_CACHE/$hex/rootfs.erofs")"

# --- references: DIR:TAG, OCI tarball, docker-save tarball --------------------------------
out=$(run --image "$img:v1" -u 0 -- 'echo tagged' 2>&1)
t_eq "DIR:TAG picks the manifest named TAG" tagged "$out"
out=$(run --image "$img:nope" -- true 2>&1)
t_eq "DIR:TAG with an unknown tag: 125" 125 "$?"
t_match "... naming the tag" "no manifest named 'nope'" "$out"
tar -C "$img" -cf "$tmp/img-oci.tar" .
out=$(SVMM_IMAGE_CACHE=$tmp/cache2 run --image "$tmp/img-oci.tar" -u 0 -- 'cat /z/file' 2>&1)
t_eq "an OCI layout tarball (docker save since 25)" zed "$out"

ds=$tmp/dsave
mkdir -p "$ds/l1" "$ds/l2"
layer "$l1" "$ds/l1/layer.tar" none
layer "$l2" "$ds/l2/layer.tar" none
jq -n --arg a "sha256:$(sha256sum "$ds/l1/layer.tar" | cut -d' ' -f1)" \
	--arg b "sha256:$(sha256sum "$ds/l2/layer.tar" | cut -d' ' -f1)" \
	'{architecture: "amd64", os: "linux", config: {Env: ["PATH=/bin"], Cmd: ["/bin/sh", "-c", "echo docker-save; ls /a"]},
	  rootfs: {type: "layers", diff_ids: [$a, $b]}}' >"$ds/config.json"
chex=$(sha256sum "$ds/config.json" | cut -d' ' -f1)
mv "$ds/config.json" "$ds/$chex.json"
jq -n --arg c "$chex.json" '[{Config: $c, RepoTags: ["test:latest"], Layers: ["l1/layer.tar", "l2/layer.tar"]}]' >"$ds/manifest.json"
tar -C "$ds" -cf "$tmp/dsave.tar" .
out=$(run --image "$tmp/dsave.tar" 2>&1)
t_eq "a docker-save tarball: config, layers and whiteouts" "$(printf 'docker-save\nfile2')" "$out"

# --- hostile layers: whiteouts of '.' and '..', a device node -----------------------------
# (a top-level '.wh..' once removed the whole root; a '.wh...' reached its siblings)
for w in sub/.wh.. .wh.. .wh...; do
	h=$tmp/hostile
	rm -rf "$h" "$tmp/img-h" "$tmp/cache-h"
	mkdir -p "$h/sub" "$tmp/cache-h/keep"
	: >"$h/$w"
	mk_layout "$tmp/img-h" "$cfg" v1 "$l1:none" "$h:none"
	out=$(SVMM_IMAGE_CACHE=$tmp/cache-h run --image "$tmp/img-h" -- true 2>&1)
	t_eq "a whiteout '$w': 125" 125 "$?"
	t_match "... refused, naming it" "whiteout '$w' names no file" "$out"
	t_ok "... and the cache beside the root is untouched" test -d "$tmp/cache-h/keep"
done
rm -rf "$h" "$tmp/img-h"
mkdir -p "$h"
mknod "$h/mem" c 1 1
mk_layout "$tmp/img-h" "$cfg" v1 "$l1:none" "$h:none"
out=$(SVMM_IMAGE_CACHE=$tmp/cache-h run --image "$tmp/img-h" -- true 2>&1)
t_eq "a layer with a device node: 125" 125 "$?"
t_match "... refused, naming it" "'mem' is a device node" "$out"
t_eq "... and no device node is left in the cache" "" "$(find "$tmp/cache-h" \( -type c -o -type b \) -print)"

# --- corrupted blobs ----------------------------------------------------------------------
bad=$tmp/bad
cp -r "$img" "$bad"
ldigest=$(jq -r '.layers[1].digest' "$bad/blobs/sha256/$hex")
lfile=$bad/blobs/sha256/${ldigest#sha256:}
chmod u+w "$lfile"
printf 'X' | dd of="$lfile" bs=1 seek=100 conv=notrunc status=none
out=$(SVMM_IMAGE_CACHE=$tmp/cache3 run --image "$bad" -- true 2>&1)
t_eq "a corrupted layer blob: 125" 125 "$?"
t_match "... refused with a message naming its digest" "blob $ldigest is corrupt" "$out"
t_ok "... and nothing was unpacked" test ! -e "$tmp/cache3/$hex/rootfs"
cp -r "$img" "$tmp/bad2"
mfile=$tmp/bad2/blobs/sha256/$hex
chmod u+w "$mfile"
sed -i 's/schemaVersion/schemaVersioN/' "$mfile"
out=$(SVMM_IMAGE_CACHE=$tmp/cache4 run --image "$tmp/bad2" -- true 2>&1)
t_match "a corrupted manifest is refused naming its digest" "blob sha256:$hex is corrupt" "$out"
chex2=${chex}
printf ' ' >>"$ds/$chex.json"
tar -C "$ds" -cf "$tmp/dsave-bad.tar" .
out=$(SVMM_IMAGE_CACHE=$tmp/cache5 run --image "$tmp/dsave-bad.tar" 2>&1)
t_match "docker-save: a corrupted config is refused naming its digest" "blob sha256:$chex2 is corrupt" "$out"

# --- a bundle: the spec's security settings ------------------------------------------------
b=$tmp/bundle
mkdir -p "$b"
cp -a "$root" "$b/rootfs"
jq -n '{ociVersion: "1.0.2",
	process: {terminal: false, user: {uid: 1234, gid: 2345, additionalGids: [3456]},
		args: ["/bin/sh", "-c", "ulimit -n; grep -E \"^(CapEff|CapBnd|NoNewPrivs|Seccomp):\" /proc/self/status; mkdir /tmp/x; echo mkdir=$?; hostname"],
		env: ["PATH=/bin"], cwd: "/",
		capabilities: {bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"]},
		rlimits: [{type: "RLIMIT_NOFILE", soft: 321, hard: 321}],
		noNewPrivileges: true},
	root: {path: "rootfs", readonly: false},
	hostname: "bundled",
	mounts: [{destination: "/proc", type: "proc", source: "proc"}, {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["mode=1777"]}],
	linux: {namespaces: [{type: "pid"}, {type: "mount"}, {type: "uts"}, {type: "ipc"}],
		seccomp: {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
			syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}]}}}' >"$b/config.json"
out=$(run --bundle "$b" 2>&1)
t_match "bundle: rlimits (RLIMIT_NOFILE 321)" '(^|
)321(
|$)' "$out"
t_match "bundle: CAP_KILL kept across exec by a non-root user (ambient)" 'CapEff:[[:space:]]+0000000000000020' "$out"
t_match "bundle: bounding set = CAP_KILL + CAP_CHOWN" 'CapBnd:[[:space:]]+0000000000000021' "$out"
t_match "bundle: noNewPrivileges" 'NoNewPrivs:[[:space:]]+1' "$out"
t_match "bundle: seccomp filter loaded" 'Seccomp:[[:space:]]+2' "$out"
t_match "bundle: seccomp denies mkdir (EACCES)" 'mkdir=1' "$out"
t_match "bundle: hostname" 'bundled' "$out"
out=$(run --bundle "$b" -- /bin/sh -c 'id' 2>&1)
t_match "bundle: args from the command line, user from the spec" 'uid=1234.*gid=2345.*3456' "$out"
jq '.process.capabilities.bounding += ["CAP_NOPE"]' "$b/config.json" >"$b/c2" && mv "$b/c2" "$b/config.json"
out=$(run --bundle "$b" 2>&1)
t_eq "bundle: an unknown capability: 125" 125 "$?"
t_match "... named" "unknown capability 'CAP_NOPE'" "$out"
t_done

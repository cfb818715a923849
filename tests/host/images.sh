#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make images: the initramfs and the sample OCI image layout are reproducible,
# hold what they should, and every blob verifies against its descriptor; a
# real OCI tool (umoci) unpacks the layout and applies its whiteouts.
. "$(dirname "$0")/../lib.sh"

img=$T_BUILD/images
tmp=$(t_tmpdir)

# --- initramfs -------------------------------------------------------------------------
if [[ ! -f $img/initramfs.cpio.gz ]]; then
	t_fail "build/images/initramfs.cpio.gz exists" "not built: run 'make images'"
else
	t_pass "build/images/initramfs.cpio.gz exists"
	mkdir "$tmp/agent"
	(cd "$tmp/agent" && zcat "$img/initramfs.cpio.gz" | cpio -id --quiet init)
	t_ok "its /init is the guest agent" cmp "$tmp/agent/init" "$T_BUILD/svmm-agent"
	t_ok "the agent is a static executable" bash -c "ldd '$tmp/agent/init' 2>&1 | grep -q 'not a dynamic executable'"
fi

t_ok "mk-initramfs runs" "$T_TOP/images/mk-initramfs" "$tmp/a.cpio.gz"
sleep 1 # a different wall-clock second must not matter
t_ok "mk-initramfs runs again" "$T_TOP/images/mk-initramfs" "$tmp/b.cpio.gz"
t_ok "two initramfs builds are byte-identical" cmp "$tmp/a.cpio.gz" "$tmp/b.cpio.gz"
SOURCE_DATE_EPOCH=1700000000 "$T_TOP/images/mk-initramfs" "$tmp/c.cpio.gz" >/dev/null
t_ok "SOURCE_DATE_EPOCH changes the bytes" bash -c "! cmp -s '$tmp/a.cpio.gz' '$tmp/c.cpio.gz'"
# gzip header: magic, deflate, flags 0 (no file name), mtime 0.
t_eq "gzip header has no name and no time" "1f8b080000000000" \
	"$(head -c 8 "$tmp/a.cpio.gz" | od -An -tx1 | tr -d ' \n')"

list=$(zcat "$tmp/a.cpio.gz" | cpio -t --quiet)
t_eq "entries are sorted" "$(LC_ALL=C sort <<<"$list")" "$list"
listv=$(zcat "$tmp/a.cpio.gz" | cpio -tv --quiet)
t_eq "every entry is owned by root:root" "" "$(awk '$3 != "root" || $4 != "root"' <<<"$listv")"
t_eq "every entry is dated 1970-01-01 (SOURCE_DATE_EPOCH=0)" "" \
	"$(TZ=UTC zcat "$tmp/a.cpio.gz" | TZ=UTC cpio -tv --quiet | grep -v ' Jan  1  1970 ')"
t_match "/init is an executable file" '^-rwxr-xr-x .* init$' "$(grep ' init$' <<<"$listv")"
mkdir "$tmp/x"
(cd "$tmp/x" && zcat "$tmp/a.cpio.gz" | cpio -id --quiet)
t_ok "/init is the placeholder init" cmp "$tmp/x/init" "$T_TOP/images/placeholder-init"
t_ok "busybox is a static executable" bash -c "ldd '$tmp/x/bin/busybox' 2>&1 | grep -q 'not a dynamic executable'"
t_eq "bin/sh links to busybox" busybox "$(readlink "$tmp/x/bin/sh")"
t_eq "usr/bin/[ resolves to busybox" "$tmp/x/bin/busybox" "$(readlink -f "$tmp/x/usr/bin/[")"
t_eq "one link per busybox applet" "$(busybox --list-full | grep -vcxE 'linuxrc|bin/busybox')" \
	"$(find "$tmp/x" -type l | wc -l)"
t_match "/init runs on the host's sh too (syntax)" '^$' "$(sh -n "$tmp/x/init" 2>&1)"
for d in dev proc sys tmp run; do
	t_ok "mount point /$d exists" test -d "$tmp/x/$d"
done

# --- the sample OCI image layout ---------------------------------------------------------
oci=$img/oci/sample
if [[ ! -f $oci/index.json ]]; then
	t_fail "build/images/oci/sample exists" "not built: run 'make images'"
	oci=$tmp/oci-a
	"$T_TOP/images/mk-sample-oci" "$oci" >/dev/null
else
	t_pass "build/images/oci/sample exists"
fi
t_ok "mk-sample-oci runs" "$T_TOP/images/mk-sample-oci" "$tmp/oci1"
sleep 1
t_ok "mk-sample-oci runs again" "$T_TOP/images/mk-sample-oci" "$tmp/oci2"
t_ok "two OCI layouts are byte-identical" diff -r "$tmp/oci1" "$tmp/oci2"

t_eq "oci-layout version" 1.0.0 "$(jq -r .imageLayoutVersion "$oci/oci-layout")"

# check_desc WHAT DIGEST SIZE: the blob exists, hashes to DIGEST, has SIZE bytes.
referenced=()
check_desc() {
	local what=$1 digest=$2 size=$3 f
	f=$oci/blobs/sha256/${digest#sha256:}
	referenced+=("${digest#sha256:}")
	if [[ $digest != sha256:* || ! -f $f ]]; then
		t_fail "$what: blob $digest exists" "no file $f"
		return
	fi
	t_eq "$what: sha256 of the blob is its digest" "$digest" "sha256:$(sha256sum "$f" | cut -d' ' -f1)"
	t_eq "$what: size of the blob is the descriptor's" "$size" "$(stat -c %s "$f")"
}

t_eq "index holds one manifest" 1 "$(jq '.manifests | length' "$oci/index.json")"
t_eq "index entry is named latest" latest \
	"$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$oci/index.json")"
read -r md ms < <(jq -r '.manifests[0] | "\(.digest) \(.size)"' "$oci/index.json")
check_desc manifest "$md" "$ms"
manifest=$oci/blobs/sha256/${md#sha256:}
t_eq "manifest media type" application/vnd.oci.image.manifest.v1+json "$(jq -r .mediaType "$manifest")"
read -r cd cs < <(jq -r '.config | "\(.digest) \(.size)"' "$manifest")
check_desc config "$cd" "$cs"
config=$oci/blobs/sha256/${cd#sha256:}
nl=$(jq '.layers | length' "$manifest")
t_eq "manifest has two layers" 2 "$nl"
for ((i = 0; i < nl; i++)); do
	read -r ld ls < <(jq -r ".layers[$i] | \"\(.digest) \(.size)\"" "$manifest")
	check_desc "layer $i" "$ld" "$ls"
	t_eq "layer $i: diff_id is the sha256 of the uncompressed tar" \
		"$(jq -r ".rootfs.diff_ids[$i]" "$config")" \
		"sha256:$(zcat "$oci/blobs/sha256/${ld#sha256:}" | sha256sum | cut -d' ' -f1)"
done
t_eq "no blob is left unreferenced" "" \
	"$(comm -23 <(ls "$oci/blobs/sha256" | sort) <(printf '%s\n' "${referenced[@]}" | sort -u))"
t_eq "config: Entrypoint" '["/usr/local/bin/sample-entrypoint"]' "$(jq -c .config.Entrypoint "$config")"
t_match "config: Cmd" '^\["/bin/sh","-c",' "$(jq -c .config.Cmd "$config")"
t_match "config: Env has PATH" '"PATH=/' "$(jq -c .config.Env "$config")"
t_eq "config: WorkingDir" /opt/data "$(jq -r .config.WorkingDir "$config")"
t_eq "config: platform" amd64/linux "$(jq -r '"\(.architecture)/\(.os)"' "$config")"
layer2=$oci/blobs/sha256/$(jq -r '.layers[1].digest' "$manifest" | cut -d: -f2)
t_match "layer 2 has a whiteout and an opaque marker" 'etc/\.wh\.sample-removed.*opt/data/\.wh\.\.wh\.\.opq' \
	"$(tar -tzf "$layer2" | tr '\n' ' ')"

# --- a real OCI tool accepts the layout -------------------------------------------------------
if ! command -v umoci >/dev/null; then
	t_fail "umoci is installed" "run 'make deps' (umoci checks the layout independently)"
else
	t_ok "umoci unpacks the layout" umoci unpack --image "$oci:latest" "$tmp/bundle"
	r=$tmp/bundle/rootfs
	t_ok "unpacked: busybox is there" test -x "$r/bin/busybox"
	t_ok "unpacked: whiteout removed /etc/sample-removed" test ! -e "$r/etc/sample-removed"
	t_eq "unpacked: opaque /opt/data holds only layer 2's file" c "$(ls -A "$r/opt/data" | tr '\n' ' ' | sed 's/ $//')"
	t_ok "unpacked: /etc/sample-release from layer 2" grep -q 'svmm sample' "$r/etc/sample-release"
	t_eq "runtime config: args" \
		'["/usr/local/bin/sample-entrypoint","/bin/sh","-c","echo \"$SAMPLE_GREETING\"; cat /etc/sample-release"]' \
		"$(jq -c .process.args "$tmp/bundle/config.json")"
	t_eq "runtime config: cwd" /opt/data "$(jq -r .process.cwd "$tmp/bundle/config.json")"
	out=$(env -i PATH=/bin SAMPLE_GREETING=hi /usr/sbin/chroot "$r" /usr/local/bin/sample-entrypoint \
		/bin/sh -c 'cd /opt/data && echo "$SAMPLE_GREETING:$(ls)"' 2>&1)
	t_match "the image's entrypoint runs (chroot)" '^svmm-sample: entrypoint in / .* hi:c$' "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
fi
t_done

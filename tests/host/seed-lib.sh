# tests/host/seed-lib.sh: helpers for the seed disk tests (sourced, not run).
# Images are checked with the real tools: fsck.fat (dosfstools), mtools, blkid.

export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8 TZ=UTC

# seed_fsck NAME IMG: fsck.fat -n finds nothing to fix.
seed_fsck() {
	local out rc
	out=$(fsck.fat -n "$2" 2>&1)
	rc=$?
	out=${out//"$2"/IMG} # a random temporary name must not match the words below
	if ((rc == 0)) && ! grep -qiE 'differ|wrong|invalid|corrupt|dirty|bad|fix|Warning' <<<"$out"; then
		t_pass "$1: fsck.fat -n is clean"
	else
		t_fail "$1: fsck.fat -n is clean" "status: $rc" "output: ${out:0:3000}"
	fi
}

# seed_fat_bits IMG: 12, 16 or 32, as fsck.fat reads the image.
seed_fat_bits() {
	fsck.fat -n -v "$1" 2>/dev/null | sed -n 's/.*2 FATs, \([0-9]*\) bit entries.*/\1/p'
}

# seed_same_tree NAME IMG SRC: mtools copies the whole image out (long names)
# and it equals SRC: every name, directory and byte.
seed_same_tree() {
	local out d
	d=$(t_tmpdir)
	out=$(mcopy -s -n -i "$2" '::*' "$d/" 2>&1 && diff -r "$3" "$d" 2>&1)
	if [[ $? == 0 ]]; then
		t_pass "$1: mcopy -s reads back the same tree"
	else
		t_fail "$1: mcopy -s reads back the same tree" "${out:0:3000}"
	fi
}

# seed_each_file NAME IMG SRC: every file, read by its own long path with
# mcopy, is byte for byte the source file.
seed_each_file() {
	local f rel bad=() n=0
	while IFS= read -r -d '' f; do
		rel=${f#"$3"/}
		mcopy -n -i "$2" "::/$rel" - 2>/dev/null | cmp -s - "$f" || bad+=("$rel")
		n=$((n + 1))
	done < <(find "$3" -type f -print0)
	if ((${#bad[@]} == 0 && n > 0)); then
		t_pass "$1: mcopy reads each of $n files back by its long name"
	else
		t_fail "$1: mcopy reads each of $n files back by its long name" "differ: ${bad[*]:0:20}"
	fi
}

# seed_tree DIR: a source tree with long, non-ASCII and 8.3 names, nested
# and empty directories, empty files and sizes around the cluster sizes.
seed_tree() {
	local d=$1
	mkdir -p "$d/sub dir/deeper/deepest" "$d/empty dir" "$d/DATA"
	printf 'hello\n' >"$d/README.TXT"
	printf 'a long name\n' >"$d/A file with a long name.text"
	printf 'café\n' >"$d/naïve café ☕.txt"
	printf 'cjk\n' >"$d/sub dir/日本語のファイル名.txt"
	: >"$d/empty"
	: >"$d/sub dir/deeper/also empty"
	head -c 511 /dev/urandom >"$d/DATA/S511.BIN"
	head -c 512 /dev/urandom >"$d/DATA/S512.BIN"
	head -c 513 /dev/urandom >"$d/DATA/s513.bin"
	head -c 4097 /dev/urandom >"$d/DATA/page and one.bin"
	head -c 300000 /dev/urandom >"$d/sub dir/deeper/deepest/big.bin"
	printf '#!/bin/sh\necho hi\n' >"$d/.hidden-dot-file"
	# 255 UTF-16 units: the longest name FAT allows
	printf 'x' >"$d/$(printf 'n%.0s' {1..251}).txt"
	touch -d '2024-02-29 12:34:56 UTC' "$d/README.TXT"
}

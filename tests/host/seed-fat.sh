#!/usr/bin/env bash
# svmm seed fat: FAT12, FAT16 and FAT32 images of a host tree, checked with
# fsck.fat and read back with mtools; sizes, edge cases and clear errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-lib.sh"

tmp=$(t_tmpdir)
src=$tmp/src
seed_tree "$src"

for fat in 12 16 32 auto; do
	img=$tmp/fat$fat.img
	args=(--out "$img" --label "svmm $fat")
	[[ $fat == auto ]] || args+=(--fat "$fat")
	t_ok "FAT$fat: svmm seed fat builds" "$T_SVMM" seed fat "${args[@]}" "$src"
	seed_fsck "FAT$fat" "$img"
	[[ $fat == auto ]] && t_eq "auto: the smallest image is FAT12" 12 "$(seed_fat_bits "$img")"
	[[ $fat == auto ]] || t_eq "FAT$fat: fsck.fat reads $fat-bit FATs" "$fat" "$(seed_fat_bits "$img")"
	t_eq "FAT$fat: blkid reads the label (upper case)" "SVMM ${fat^^}" "$(blkid -o value -s LABEL "$img")"
	seed_same_tree "FAT$fat" "$img" "$src"
	seed_each_file "FAT$fat" "$img" "$src"
done
t_eq "auto: the smallest image that fits is 1 MiB" 1048576 "$(stat -c %s "$tmp/fatauto.img")"
t_match "mtools keeps the file time" 'README +TXT +6 2024-02-29 +12:34' \
	"$(mdir -i "$tmp/fat16.img" ::/README.TXT)"

# Sizes: a requested size is honoured; larger trees get larger images.
t_ok "--size 64M builds" "$T_SVMM" seed fat --out "$tmp/64m.img" --size 64M "$src"
t_eq "--size 64M gives 64 MiB" $((64 << 20)) "$(stat -c %s "$tmp/64m.img")"
seed_fsck "64 MiB" "$tmp/64m.img"
seed_same_tree "64 MiB" "$tmp/64m.img" "$src"

t_ok "--fat 16 --size 200M builds (32-bit sector count)" \
	"$T_SVMM" seed fat --out "$tmp/200m.img" --fat 16 --size 200M "$src"
t_eq "--fat 16 --size 200M: FAT16" 16 "$(seed_fat_bits "$tmp/200m.img")"
seed_fsck "FAT16 200 MiB" "$tmp/200m.img"
seed_same_tree "FAT16 200 MiB" "$tmp/200m.img" "$src"

# Same input, same bytes (mtimes from the files; then a fixed epoch).
"$T_SVMM" seed fat --out "$tmp/again.img" --label "svmm 12" --fat 12 "$src" >/dev/null
t_ok "same input twice gives identical images" cmp "$tmp/fat12.img" "$tmp/again.img"
cp -a "$src" "$tmp/src2"
touch -d '2030-01-01' "$tmp/src2/README.TXT"
SOURCE_DATE_EPOCH=1700000000 "$T_SVMM" seed fat --out "$tmp/e1.img" "$src" >/dev/null
SOURCE_DATE_EPOCH=1700000000 "$T_SVMM" seed fat --out "$tmp/e2.img" "$tmp/src2" >/dev/null
t_ok "SOURCE_DATE_EPOCH: other mtimes give identical images" cmp "$tmp/e1.img" "$tmp/e2.img"
t_match "SOURCE_DATE_EPOCH sets every time" 'README +TXT +6 2023-11-14 +22:13' \
	"$(mdir -i "$tmp/e1.img" ::/README.TXT)"

# Exactly full: one file filling every cluster of a 1 MiB FAT12 image. The
# most 1 MiB holds is 1004 clusters of 1 KiB (1 + 2 x 3 + 32 sectors before
# them); one byte more fits no cluster size.
mkdir "$tmp/full"
head -c $((1004 * 1024)) /dev/urandom >"$tmp/full/filler.bin"
out=$("$T_SVMM" seed fat --out "$tmp/full.img" --size 1M --fat 12 "$tmp/full")
t_match "exactly full: every cluster used" '1004 clusters of 1024 bytes, 1004 used' "$out"
seed_fsck "exactly full" "$tmp/full.img"
seed_each_file "exactly full" "$tmp/full.img" "$tmp/full"
printf 'x' >>"$tmp/full/filler.bin"
out=$("$T_SVMM" seed fat --out "$tmp/over.img" --size 1M --fat 12 "$tmp/full" 2>&1)
t_eq "one byte over: fails" 1 "$?"
t_match "one byte over: the error names the file" "too small: '/filler.bin' does not fit" "$out"
t_ok "one byte over: no image is left" test ! -e "$tmp/over.img"

# Deep directories: 40 levels.
deep=$tmp/deep
p=$deep
for i in $(seq -w 1 40); do p="$p/level $i"; done
mkdir -p "$p" && echo bottom >"$p/bottom file.txt"
for fat in 12 32; do
	t_ok "deep, FAT$fat: builds" "$T_SVMM" seed fat --fat $fat --out "$tmp/deep$fat.img" "$deep"
	seed_fsck "deep, FAT$fat" "$tmp/deep$fat.img"
	seed_each_file "deep, FAT$fat" "$tmp/deep$fat.img" "$deep"
done

# 1000 files in one directory, long names with the same 8.3 basis (~1..~1000).
many=$tmp/many
mkdir -p "$many/dir"
for i in $(seq -w 1 1000); do echo "$i" >"$many/dir/file number $i.txt"; done
for fat in 12 16 32; do
	t_ok "1000 files, FAT$fat: builds" "$T_SVMM" seed fat --fat $fat --out "$tmp/many$fat.img" "$many"
	seed_fsck "1000 files, FAT$fat" "$tmp/many$fat.img"
	seed_same_tree "1000 files, FAT$fat" "$tmp/many$fat.img" "$many"
done
t_eq "1000 files: aliases run to ~1000" "FIL~1000 TXT 5" \
	"$(mdir -i "$tmp/many12.img" ::/dir | awk '/file number 1000.txt/ {print $1, $2, $3}')"

# A name outside the BMP (a UTF-16 surrogate pair): mtools cannot decode
# those, so look for the raw long-name units; the KVM tier mounts it.
mkdir "$tmp/emoji"
echo smile >"$tmp/emoji/😀 smile.md"
t_ok "emoji: builds" "$T_SVMM" seed fat --out "$tmp/emoji.img" "$tmp/emoji"
seed_fsck "emoji" "$tmp/emoji.img"
t_ok "emoji: the long name holds the surrogate pair" python3 -c '
import sys
img = open(sys.argv[1], "rb").read()
sys.exit(0 if "\U0001F600 sm".encode("utf-16-le") in img else 1)' "$tmp/emoji.img"

# The FAT12/16 root holds 512 entries: a clear error, FAT32 has room.
root=$tmp/root
mkdir "$root"
for i in $(seq 1 600); do : >"$root/F$i"; done
out=$("$T_SVMM" seed fat --fat 16 --out "$tmp/root.img" "$root" 2>&1)
t_eq "600 root entries, FAT16: fails" 1 "$?"
t_match "600 root entries, FAT16: names a file and the limit" "'/F[0-9]+': the FAT16 root directory is full \(512 entries" "$out"
t_ok "600 root entries, automatic: builds (FAT32)" "$T_SVMM" seed fat --out "$tmp/root.img" "$root"
t_eq "600 root entries, automatic: is FAT32" 32 "$(seed_fat_bits "$tmp/root.img")"
seed_fsck "600 root entries" "$tmp/root.img"
seed_same_tree "600 root entries" "$tmp/root.img" "$root"

# Files at the FAT limit, sparse with data at both ends. Holes are skipped
# (the image starts as zeros), so these are cheap.
# sparse_file PATH SIZE
sparse_file() {
	truncate -s "$2" "$1"
	printf 'HEAD' | dd of="$1" conv=notrunc status=none
	printf 'TAIL' | dd of="$1" bs=1 seek=$(($2 - 4)) conv=notrunc status=none
}
mkdir "$tmp/near" "$tmp/max"
sparse_file "$tmp/near/near.bin" $((4 * 1024 * 1024 * 1024 - 32768))
sparse_file "$tmp/max/max.bin" $((4 * 1024 * 1024 * 1024 - 1))
t_ok "4 GiB - 32 KiB: builds" "$T_SVMM" seed fat --out "$tmp/near.img" "$tmp/near"
seed_fsck "4 GiB - 32 KiB" "$tmp/near.img"
t_match "4 GiB - 32 KiB: the image stays sparse (KiB allocated)" '^[0-9]{1,4}$' \
	"$(du -k "$tmp/near.img" | cut -f1)"
rm -f "$tmp/near.img"
t_ok "4 GiB - 1: builds" "$T_SVMM" seed fat --out "$tmp/max.img" "$tmp/max"
t_match "4 GiB - 1: mdir shows the size" 'MAX +BIN +4294967295 .* max\.bin' \
	"$(mdir -i "$tmp/max.img" ::/max.bin)"
t_ok "4 GiB - 1: mcopy reads it back byte for byte" \
	bash -c 'mcopy -n -i "$1" ::/max.bin - | cmp - "$2"' _ "$tmp/max.img" "$tmp/max/max.bin"
# fsck.fat 4.2 computes the chain length in 32 bits: 2^32 bytes of clusters
# wrap to 0, and it flags any 4 GiB - 1 file, mkfs.fat + mcopy ones too.
out=$(fsck.fat -n "$tmp/max.img" 2>&1 | sed -n '2,4p')
t_eq "4 GiB - 1: fsck.fat's only complaint is its 32-bit chain length" \
	$'/max.bin\n  File size is 4294967295 bytes, cluster chain length is 0 bytes.\n  Truncating file to 0 bytes.' \
	"$out"
rm -f "$tmp/max.img"

# A file of 4 GiB (sparse): over the FAT limit, named in the error.
mkdir "$tmp/huge"
truncate -s 4G "$tmp/huge/huge.bin"
out=$("$T_SVMM" seed fat --out "$tmp/huge.img" "$tmp/huge" 2>&1)
t_eq "4 GiB file: fails" 1 "$?"
t_match "4 GiB file: the error names it and the limit" "huge.bin': 4294967296 bytes is more than a FAT file can hold \(4 GiB - 1" "$out"

# Names FAT cannot hold, bad flags, a size too small for the type.
mkdir "$tmp/bad" && : >"$tmp/bad/what?.txt"
out=$("$T_SVMM" seed fat --out "$tmp/bad.img" "$tmp/bad" 2>&1)
t_match "a '?' in a name is refused, naming the file" "what\?\.txt': FAT names cannot hold the character '\?'" "$out"
out=$("$T_SVMM" seed fat --out "$tmp/x.img" --fat 13 "$src" 2>&1)
t_match "--fat 13 is refused" "--fat '13': use 12, 16 or 32" "$out"
out=$("$T_SVMM" seed fat --out "$tmp/x.img" --size 1000 "$src" 2>&1)
t_match "--size 1000 is refused" "--size '1000': not a multiple of 512" "$out"
out=$("$T_SVMM" seed fat --out "$tmp/x.img" --fat 32 --size 16M "$src" 2>&1)
t_match "FAT32 in 16 MiB is refused" "a FAT32 file system cannot be 16777216 bytes \(too small\)" "$out"
out=$("$T_SVMM" seed fat --out "$tmp/x.img" --label "much too long" "$src" 2>&1)
t_match "a long label is refused" "label 'much too long': at most 11" "$out"
t_match "svmm help lists seed" 'seed +build FAT images' "$("$T_SVMM" help)"
t_match "svmm seed --help shows the usage" 'usage: svmm seed fat --out IMG' "$("$T_SVMM" seed --help)"
"$T_SVMM" seed >/dev/null 2>&1
t_eq "svmm seed alone is a usage error" 2 "$?"
out=$("$T_SVMM" seed fat --out "$tmp/x.img" "$tmp/nonexistent" 2>&1)
t_match "a missing source is named" "nonexistent': No such file" "$out"
t_done

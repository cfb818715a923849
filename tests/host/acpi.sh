#!/usr/bin/env bash
# The ACPI tables svmm builds, checked by ACPICA itself: iasl disassembles
# each table without complaint, the DSDT recompiles, and acpiexec loads
# FADT+DSDT+MADT+MCFG and runs the methods the guest will run.
. "$(dirname "$0")/../lib.sh"

if ! command -v iasl >/dev/null || ! command -v acpiexec >/dev/null; then
	t_fail "ACPICA tools present" "iasl/acpiexec missing: run 'make deps' (acpica-tools)"
	t_done
	exit 1
fi

# iasl -d on one table: exit 0, a .dsl, no error or warning lines.
disasm() {
	local f=$1 out
	out=$(cd "$(dirname "$f")" && iasl -d "$(basename "$f")" 2>&1) || { echo "$out"; return 1; }
	[[ -s ${f%.dat}.dsl ]] || { echo "no ${f%.dat}.dsl: $out"; return 1; }
	if grep -qiE '(error|warning)' <<<"$out"; then echo "$out"; return 1; fi
}

for cpus in 1 2 300; do
	d=$(t_tmpdir)
	out=$("$T_SVMM" acpi-dump --cpus "$cpus" --memory 8G "$d" 2>&1)
	t_eq "acpi-dump --cpus $cpus exits 0" 0 "$?"
	t_match "acpi-dump reports the RSDP" 'RSDP at 0xe0000' "$out"
	for t in XSDT FACP APIC MCFG DSDT; do
		t_ok "iasl -d $t ($cpus cpus)" disasm "$d/$t.dat"
	done
	# one MADT entry per vCPU: local APIC below ID 255, x2APIC from there
	n=$(grep -cE 'Subtable Type : 0[09] \[Processor Local (APIC|x2APIC)\]' "$d/APIC.dsl")
	t_eq "MADT lists $cpus processors" "$cpus" "$n"
done

d=$(t_tmpdir)
"$T_SVMM" acpi-dump --cpus 2 "$d" >/dev/null
for t in FACP APIC MCFG DSDT; do disasm "$d/$t.dat" >/dev/null; done
dsl=$(cat "$d/DSDT.dsl")
t_match "FADT is hardware-reduced" 'Hardware Reduced \(V5\) : 1' "$(cat "$d/FACP.dsl")"
# the GAS blocks: Space ID, width, offset, access size, then the address
gas() { grep -A5 "$1 : \[Generic Address Structure\]" "$d/FACP.dsl" | tr -s ' ' | tr '\n' ' '; }
t_match "FADT reset register is I/O port 0x600" \
	'Space ID : 01 \[SystemIO\].*Address : 0000000000000600' "$(gas 'Reset Register')"
t_match "FADT reset value is 0xFE" 'Value to cause reset : FE' "$(cat "$d/FACP.dsl")"
t_match "FADT sleep control register is I/O port 0x600" \
	'Space ID : 01 \[SystemIO\].*Address : 0000000000000600' "$(gas 'Sleep Control Register')"
t_match "FADT sleep status register is I/O port 0x600" \
	'Space ID : 01 \[SystemIO\].*Address : 0000000000000600' "$(gas 'Sleep Status Register')"
t_match "MCFG maps ECAM at 0xE8000000" 'Base Address : 00000000E8000000' "$(cat "$d/MCFG.dsl")"
t_match "MADT has IRQ0 -> GSI2" 'Interrupt : 00000002' "$(cat "$d/APIC.dsl")"
t_match "DSDT has the PCIe host bridge" 'Device \(PC00\)[^}]*EisaId \("PNP0A08"\)' "$dsl"
t_eq "DSDT has 32 slot devices" 32 "$(grep -cE 'Device \(S0[0-3][0-9]\)' <<<"$dsl")"
t_match "slot 5 has _SUN 5" 'Device \(S005\)[^}]*_ADR, 0x00050000[^}]*_SUN, 0x05' "$dsl"
t_match "slot 31 has _SUN 31" 'Device \(S031\)[^}]*_SUN, 0x1F' "$dsl"
t_match "DSDT has the power button" 'EisaId \("PNP0C0C"\)' "$dsl"
t_match "DSDT has the GED" '_HID, "ACPI0013"' "$dsl"
t_match "DSDT has COM1 with IRQ 4" \
	'Device \(COM1\)[^}]*EisaId \("PNP0501"\)[^}]*IO \(Decode16,[^)]*0x03F8,[^)]*0x08,[^}]*Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)[^0]*0x00000004' \
	"$dsl"
t_match "DSDT has the RTC with IRQ 8" \
	'Device \(RTC\)[^}]*EisaId \("PNP0B00"\)[^}]*IO \(Decode16,[^)]*0x0070,[^)]*0x02,[^}]*Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)[^0]*0x00000008' \
	"$dsl"
t_match "DSDT has _S5" 'Name \(_S5, Package' "$dsl"

out=$(cd "$d" && cp DSDT.dsl re.dsl && iasl re.dsl 2>&1)
t_match "disassembled DSDT recompiles cleanly" '0 Errors, 0 Warnings' "$out"

# Run the guest's methods in ACPICA's interpreter, with our FADT.
ex() { (cd "$d" && acpiexec -b "$1" FACP.dat DSDT.dat APIC.dat MCFG.dat 2>&1); }
out=$(ex 'evaluate \_SB.PC00.S005._SUN')
t_match "acpiexec: S005._SUN = 5" '\[Integer\] = 0000000000000005' "$out"
if grep -qE 'ACPI (Error|Exception|Warning)' <<<"$out"; then
	t_fail "acpiexec reports no ACPI errors" "$out"
else
	t_pass "acpiexec reports no ACPI errors"
fi
out=$(ex 'evaluate \_SB.PC00._PRT')
t_match "acpiexec: _PRT has 4 pins for each of 32 slots" '\[Package\] Contains 128 Elements' "$out"
# slot 5 INTB: address 0x5FFFF, pin 1, no source, GSI 16 + (5 + 1) % 8 = 22
t_match "acpiexec: _PRT routes slot 5 INTB to GSI 22" \
	'= 000000000005FFFF[^[]*\[Integer\] = 0000000000000001[^[]*\[Integer\] = 0000000000000000[^[]*\[Integer\] = 0000000000000016' \
	"$out"
t_eq "_PRT routes over GSIs 16..23 only" "16 17 18 19 20 21 22 23" \
	"$(awk '/Contains 4 Elements/{n=0} /Integer/{n++; if (n==4) print $NF}' <<<"$out" |
		while read -r h; do echo $((16#$h)); done | sort -un | tr '\n' ' ' | sed 's/ $//')"
out=$(ex 'evaluate \_S5')
t_match "acpiexec: _S5 SLP_TYP is 5" 'Contains 4 Elements:[^[]*\[Integer\] = 0000000000000005' "$out"
out=$(ex 'evaluate \_SB.PC00.S007._EJ0 1; evaluate \_SB.GED.PCEJ')
t_match "acpiexec: S007._EJ0 writes slot 7 to the GED" '\[Integer\] = 0000000000000007' "$out"
out=$(ex 'evaluate \_SB.GED._EVT 5')
if grep -qE 'ACPI (Error|Exception)' <<<"$out"; then
	t_fail "acpiexec: GED _EVT runs" "$out"
else
	t_pass "acpiexec: GED _EVT runs"
fi
uuid='(5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66)'
out=$(ex "evaluate \\_SB.PC00._OSC $uuid 1 3 (01 00 00 00 1f 00 00 00 1f 00 00 00)")
t_match "acpiexec: _OSC grants PME/AER/PCIe caps, not native hotplug" \
	'01 00 00 00 1F 00 00 00 1C 00 00 00' "$out"
out=$(ex 'evaluate \_SB.PC00._OSC (00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00) 1 3 (00 00 00 00 1f 00 00 00 1f 00 00 00)')
t_match "acpiexec: _OSC flags an unknown UUID" '04 00 00 00 1F 00 00 00 1F 00 00 00' "$out"

out=$("$T_SVMM" acpi-dump --cpus 0 "$d" 2>&1)
t_eq "acpi-dump --cpus 0 is refused" 2 "$?"
t_match "the message names --cpus" '\-\-cpus' "$out"
t_done

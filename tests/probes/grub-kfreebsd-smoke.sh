#!/bin/sh
# grub-kfreebsd-smoke.sh — proves the FreeBSD probe kernels independently of mbchain: GRUB 2's
# own FreeBSD loader (kfreebsd) boots each probe in QEMU and both 0xE9 reports are printed.
#   [CC=clang] tests/probes/grub-kfreebsd-smoke.sh [kfreebsd flags...]   (default: -s -v)
# GRUB setup per boot: kenv foo=bar and vfs.root.mountfrom=ufs:/dev/md0 (set kFreeBSD.*),
# `kfreebsd_module /module.txt type=md_image`, `kfreebsd_module /data.bin type=raw hello world`.
# freebsd-amd64 needs the relocator64 fix (grub_relocator64_fixed in grub-common.sh: Debian's
# GRUB 2.06 jumps to entry_low << 32 otherwise); freebsd-i386 boots with the stock GRUB.
#
# Checks expected to FAIL under GRUB 2.06 (its quirks, not the probe's):
#   both:  metadata_aligned       GRUB puts the tags right after the env strings (modulep
#                                 0x...029): not 8/4-aligned
#          md_strings_terminated  GRUB's MODINFO_ARGS length excludes the NUL (and ends in a
#                                 space; grub_freebsd_add_meta_module writes the NUL one past
#                                 its VLA)
#   i386:  memsizes_valid         bootinfo bi_memsizes_valid/basemem/extmem left 0
#          symtab_matches         bi_symtab/bi_esymtab left 0 (only MODINFOMD_SSYM/ESYM set)
# Any other FAIL is reported as UNEXPECTED.  Then the negative self-tests: a probe whose
# symbol name and one data word were corrupted in the file must report ksyms_lookup and
# data_pattern FAIL; a probe built with -DPROBE_FORCE_FAULT must report the exception.
# Exit status 0 when all of that held.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=${*:--s -v}
status=0

make -s -C "$here" OUT="$tmp/build" ${CC:+CC="$CC"} freebsd >/dev/null
make -s -C "$here" OUT="$tmp/fault" ${CC:+CC="$CC"} EXTRA_CFLAGS=-DPROBE_FORCE_FAULT freebsd \
	>/dev/null

. "$here/grub-common.sh"
grub_relocator64_fixed "$tmp/grub-i386-pc"

# two modules with known contents (their CRC-32s are printed by the probe)
printf 'mbchain probe module\n' > "$tmp/module.txt"
seq 1 1200 > "$tmp/data.bin"
crc_module=$(crc32_of "$tmp/module.txt")
crc_data=$(crc32_of "$tmp/data.bin")

# boot_kfreebsd ELF NAME FLAVOUR: leaves $tmp/e9-NAME.txt, sets $rc
boot_kfreebsd() {
	tree="$tmp/iso-$2"
	mkdir -p "$tree/boot/grub"
	cp "$1" "$tree/kernel.elf"
	cp "$tmp/module.txt" "$tmp/data.bin" "$tree/"
	{
		grub_cfg_head
		echo "set kFreeBSD.foo=bar"
		echo "set kFreeBSD.vfs.root.mountfrom=ufs:/dev/md0"
		echo "kfreebsd /kernel.elf $args"
		echo "kfreebsd_module /module.txt type=md_image"
		echo "kfreebsd_module /data.bin type=raw hello world"
		grub_cfg_tail
	} > "$tree/boot/grub/grub.cfg"
	if [ "$3" = amd64 ]; then
		grub_boot "$tree" "$2" "$tmp/grub-i386-pc"
	else
		grub_boot "$tree" "$2"
	fi
}

bad() { echo "=== $1: UNEXPECTED: $2"; status=1; }
want() { grep -qxF -- "$2" "$tmp/e9-$1.txt" || bad "$1" "no line '$2'"; }

for flavour in i386 amd64; do
	n=freebsd-$flavour
	boot_kfreebsd "$tmp/build/$n.elf" "$flavour" "$flavour"
	echo "=== $n under GRUB kfreebsd ($args): qemu exit $rc"
	cat "$tmp/e9-$flavour.txt"
	quirks='metadata_aligned|md_strings_terminated'
	[ "$flavour" = i386 ] && quirks="$quirks|memsizes_valid|symtab_matches"
	fails=$(grep 'FAIL' "$tmp/e9-$flavour.txt" | grep -v -E "^check: ($quirks) FAIL" |
		grep -v '^result: FAIL' || true)
	[ -z "$fails" ] || bad "$n" "$fails"
	grep -q '^result:' "$tmp/e9-$flavour.txt" || bad "$n" "no result line"
	tr -d '\r' < "$tmp/com1-$flavour.log" | grep -q '^result:' || bad "$n" "COM1 copy"
	want "$flavour" "probe: $n"
	want "$flavour" "module[0]: name=\"module.txt\" type=\"md_image\" size=21 crc32=$crc_module"
	want "$flavour" "module[1]: name=\"data.bin\" type=\"raw\" size=$(wc -c < "$tmp/data.bin" | tr -d ' ') crc32=$crc_data"
	want "$flavour" "kenv: foo=bar"
	want "$flavour" "kenv: vfs.root.mountfrom=ufs:/dev/md0"
	want "$flavour" "check: ksyms_lookup ok"
	[ "$args" = "-s -v" ] && want "$flavour" "md.howto: 0x00000802"    # RB_SINGLE|RB_VERBOSE
	if [ "$flavour" = amd64 ]; then
		want "$flavour" "pagetables: kernphys=0x200000 identity=1 alias=1"
		grep -q '^file\[0\]: name="kernel.elf" type="elf64 kernel" addr=0x200000 ' \
			"$tmp/e9-$flavour.txt" || bad "$n" "kernel file[0]"
	else
		grep -q '^file\[0\]: name="kernel.elf" type="elf kernel" addr=0x400000 ' \
			"$tmp/e9-$flavour.txt" || bad "$n" "kernel file[0]"
	fi

	# negative 1: rename the symbol in .strtab and flip pattern word 5, in the file
	corrupt_probe "$tmp/build/$n.elf" "$tmp/corrupt-$flavour.elf"
	boot_kfreebsd "$tmp/corrupt-$flavour.elf" "corrupt-$flavour" "$flavour"
	echo "=== $n corrupted: qemu exit $rc"
	grep -E '^(ksyms|check: (ksyms_lookup|data_pattern)|result)' "$tmp/e9-corrupt-$flavour.txt" || true
	grep -q '^check: ksyms_lookup FAIL' "$tmp/e9-corrupt-$flavour.txt" || bad corrupt "ksyms_lookup"
	grep -q '^check: data_pattern FAIL' "$tmp/e9-corrupt-$flavour.txt" || bad corrupt "data_pattern"
	[ "$rc" = 35 ] || bad corrupt "exit $rc"

	# negative 2: an exception is reported, not a silent triple fault
	boot_kfreebsd "$tmp/fault/$n.elf" "fault-$flavour" "$flavour"
	echo "=== $n forced fault: qemu exit $rc"
	grep -E '^(probe: exception|result)' "$tmp/e9-fault-$flavour.txt" || true
	grep -q '^probe: exception vector=6 ' "$tmp/e9-fault-$flavour.txt" || bad fault "no #UD report"
	[ "$rc" = 35 ] || bad fault "exit $rc"
done
[ $status = 0 ] && echo "=== grub-kfreebsd-smoke: as expected" || echo "=== grub-kfreebsd-smoke: FAILED"
exit $status

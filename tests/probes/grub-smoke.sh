#!/bin/sh
# grub-smoke.sh — proves the probe kernels independently of mbchain: GRUB 2's own NetBSD loader
# (knetbsd) boots each probe in QEMU and the 0xE9 report is printed.  Run by hand or from CI:
#   [CC=clang] tests/probes/grub-smoke.sh [knetbsd args...]     (default args: -s)
# Expected under GRUB: every check ok except esym_matches (GRUB passes esym=0 on the stack).
# Then the negative self-tests: a probe whose symbol name and one data word were corrupted in
# the file must report ksyms_lookup and data_pattern FAIL; a probe built with
# -DPROBE_FORCE_FAULT must report the exception.  Exit status 0 when all of that held.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=${*:--s}
status=0

make -s -C "$here" OUT="$tmp/build" ${CC:+CC="$CC"} netbsd >/dev/null
make -s -C "$here" OUT="$tmp/fault" ${CC:+CC="$CC"} EXTRA_CFLAGS=-DPROBE_FORCE_FAULT netbsd >/dev/null

. "$here/grub-common.sh"

# a module with known contents (its CRC-32 is printed by the probe)
printf 'mbchain probe module\n' > "$tmp/module.txt"
expect_crc=$(crc32_of "$tmp/module.txt")

# boot_grub ELF NAME: boot ELF with knetbsd + one module; leaves $tmp/e9-NAME.txt, sets $rc
boot_grub() {
	tree="$tmp/iso-$2"
	mkdir -p "$tree/boot/grub"
	cp "$1" "$tree/kernel.elf"
	cp "$tmp/module.txt" "$tree/module.txt"
	{
		grub_cfg_head
		echo "knetbsd /kernel.elf $args"
		echo "knetbsd_module_elf /module.txt"
		grub_cfg_tail
	} > "$tree/boot/grub/grub.cfg"
	grub_boot "$tree" "$2"
}

bad() { echo "=== $1: UNEXPECTED: $2"; status=1; }

for flavour in i386 amd64; do
	boot_grub "$tmp/build/netbsd-$flavour.elf" "$flavour"
	echo "=== netbsd-$flavour under GRUB knetbsd ($args): qemu exit $rc (module crc32 $expect_crc)"
	cat "$tmp/e9-$flavour.txt"
	fails=$(grep 'FAIL' "$tmp/e9-$flavour.txt" | grep -v -e '^check: esym_matches ' \
		-e '^result: FAIL' || true)
	grep -q '^result:' "$tmp/e9-$flavour.txt" || bad "netbsd-$flavour" "no result line"
	[ -z "$fails" ] || bad "netbsd-$flavour" "$fails"
	grep -q "crc32=$expect_crc" "$tmp/e9-$flavour.txt" || bad "netbsd-$flavour" "module crc32"
	tr -d '\r' < "$tmp/com1-$flavour.log" | grep -q '^result:' || bad "netbsd-$flavour" "COM1 copy"

	# negative 1: rename the symbol in .strtab and flip pattern word 5, in the file
	corrupt_probe "$tmp/build/netbsd-$flavour.elf" "$tmp/corrupt-$flavour.elf"
	boot_grub "$tmp/corrupt-$flavour.elf" "corrupt-$flavour"
	echo "=== netbsd-$flavour corrupted: qemu exit $rc"
	grep -E '^(ksyms|check: (ksyms_lookup|data_pattern)|result)' "$tmp/e9-corrupt-$flavour.txt" || true
	grep -q '^check: ksyms_lookup FAIL' "$tmp/e9-corrupt-$flavour.txt" || bad corrupt "ksyms_lookup"
	grep -q '^check: data_pattern FAIL' "$tmp/e9-corrupt-$flavour.txt" || bad corrupt "data_pattern"
	[ "$rc" = 35 ] || bad corrupt "exit $rc"

	# negative 2: an exception is reported, not a silent triple fault
	boot_grub "$tmp/fault/netbsd-$flavour.elf" "fault-$flavour"
	echo "=== netbsd-$flavour forced fault: qemu exit $rc"
	grep -E '^(probe: exception|result)' "$tmp/e9-fault-$flavour.txt" || true
	grep -q '^probe: exception vector=6 ' "$tmp/e9-fault-$flavour.txt" || bad fault "no #UD report"
	[ "$rc" = 35 ] || bad fault "exit $rc"
done
[ $status = 0 ] && echo "=== grub-smoke: as expected" || echo "=== grub-smoke: FAILED"
exit $status

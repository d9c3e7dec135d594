#!/bin/bash
# demo.sh - `make run`: boot a NetBSD-shaped probe kernel through GRUB 2 -> mbchain in QEMU.
#
#   tests/tools/demo.sh BUILD_DIR            (BUILD_DIR holds mbchain.elf and probes/)
#   DEMO_ENTRY=1 tests/tools/demo.sh build   (the demo menu's entry: 0 NetBSD/i386, 1 NetBSD/amd64)
#
# Builds the default demo ISO (tests/tools/mkiso.sh with no KERNEL, so iso/grub.cfg.in) into
# BUILD_DIR/demo.iso, boots it headless on QEMU TCG and prints the 0xE9 log: mbchain's own
# messages, then the probe kernel's report of what it was handed (tests/REPORT.md).  GRUB's
# serial output (with its ANSI escapes) is kept in BUILD_DIR/demo-com1.log.  The last line is
# the verdict: PASS when QEMU exited 33 (the probe's PASS) and the log says `result: PASS`.
# Exit status 0 on PASS, 1 otherwise.
#
# mbchain's command line in the demo: DEMO_CMDLINE (default mbchain.exitport=0xf4, so an
# mbchain error ends QEMU with 253 rather than halting).  The kernel's module string is
# `-s root=wd0a console=com console_speed=115200`, and a NetBSD entropy file goes along as
# `type=rnd`.  QEMU=... picks the emulator (default qemu-system-x86_64), DEMO_MACHINE=q35 the
# machine type, DEMO_TIMEOUT the seconds before giving up (default 60).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -f "$build/mbchain.elf" ] || { echo "demo: no $build/mbchain.elf (run make)" >&2; exit 1; }
entry=${DEMO_ENTRY:-0}
case "$entry" in
0) what="NetBSD/i386 probe" ;;
1) what="NetBSD/amd64 probe" ;;
*) echo "demo: DEMO_ENTRY=$entry: use 0 (NetBSD/i386) or 1 (NetBSD/amd64)" >&2; exit 1 ;;
esac
qemu=${QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { echo "demo: $qemu not found: run tests/tools/ensure-deps.sh" >&2; exit 1; }

iso=$build/demo.iso
e9=$build/demo-e9.log
com1=$build/demo-com1.log
t0=$(date +%s.%N)
MBCHAIN=$build/mbchain.elf PROBES=$build/probes MENU_DEFAULT=$entry MENU_TIMEOUT=0 \
	"$here/mkiso.sh" "$iso" "" "" "${DEMO_CMDLINE-mbchain.exitport=0xf4}" >/dev/null || exit 1
t1=$(date +%s.%N)

rm -f "$e9" "$com1"
rc=0
timeout "${DEMO_TIMEOUT:-60}" "$qemu" ${DEMO_MACHINE:+-M "$DEMO_MACHINE"} -cdrom "$iso" -boot d \
	-display none -nic none -monitor none -no-reboot -m 256 \
	-serial "file:$com1" -debugcon "file:$e9" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 || rc=$?
t2=$(date +%s.%N)

echo "=== mbchain demo: GRUB 2 -> mbchain -> $what (port 0xE9 log)"
if [ -s "$e9" ]; then
	tr -d '\r' < "$e9"
else
	echo "(nothing on port 0xE9; the end of GRUB's serial output:)"
	sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$com1" 2>/dev/null | tr -d '\r' | tail -n 15
fi
echo "==="

times=$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "ISO %.1f s, boot %.1f s", b - a, c - b }')
if [ "$rc" = 33 ] && tr -d '\r' < "$e9" | grep -qx 'result: PASS'; then
	echo "demo: PASS ($what; qemu exit 33; $times)"
	exit 0
fi
case "$rc" in
35) why="the probe kernel reported FAIL" ;;
253) why="mbchain stopped with an error" ;;
124) why="timed out after ${DEMO_TIMEOUT:-60} s" ;;
0) why="QEMU ended without an exit code (a triple fault, or GRUB halted: see $com1)" ;;
33) why="exit 33 but no 'result: PASS' line" ;;
*) why="unexpected exit" ;;
esac
echo "demo: FAIL ($what; qemu exit $rc: $why; $times)"
exit 1

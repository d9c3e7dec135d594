# grub-common.sh — shell functions shared by grub-smoke.sh (knetbsd) and
# grub-kfreebsd-smoke.sh (kfreebsd).  Source it after setting $tmp (a scratch directory).
#
#   grub_boot TREE NAME [GRUBDIR]  make $tmp/NAME.iso from TREE (which holds boot/grub/grub.cfg)
#                                  with grub-mkrescue [-d GRUBDIR], boot it in QEMU; leaves
#                                  $tmp/e9-NAME.txt (0xE9 log, CR stripped), $tmp/com1-NAME.log
#                                  and sets $rc to QEMU's exit status
#   grub_cfg_head                  the serial/terminal/timeout preamble for grub.cfg
#   grub_cfg_tail                  boot + the BOOT-FAILED/halt fallback
#   grub_relocator64_fixed DIR     copy of /usr/lib/grub/i386-pc in DIR with relocator64's
#                                  `jmp *0(%rip)` displacement fixed (TESTING-NOTES, GRUB's
#                                  kfreebsd amd64 bug); fails unless `ff 25 00 00 00 00` occurs
#                                  exactly once in relocator.mod
#   corrupt_probe IN OUT           copy of probe IN with `probe_marker` renamed in .strtab and
#                                  pattern word 5 flipped: ksyms_lookup and data_pattern must FAIL
#   crc32_of FILE                  zlib CRC-32 as 0x%08x (python3), or "unknown"

GRUB_MODULES="bsd normal serial terminal echo halt iso9660 biosdisk multiboot"

grub_cfg_head() {
	cat <<'EOF2'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod bsd
EOF2
}

grub_cfg_tail() {
	cat <<'EOF2'
boot
echo BOOT-FAILED
halt
EOF2
}

grub_boot() {
	_tree=$1 _name=$2 _dir=${3:-}
	grub-mkrescue ${_dir:+-d "$_dir"} -o "$tmp/$_name.iso" \
		--install-modules="$GRUB_MODULES" \
		--locales= --fonts= --themes= "$_tree" >/dev/null 2>&1
	rc=0
	timeout 30 qemu-system-x86_64 -cdrom "$tmp/$_name.iso" -display none -nic none \
		-monitor none -no-reboot -serial "file:$tmp/com1-$_name.log" \
		-debugcon "file:$tmp/e9-$_name.log" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 128 || rc=$?
	tr -d '\r' < "$tmp/e9-$_name.log" > "$tmp/e9-$_name.txt"
}

grub_relocator64_fixed() {
	rm -rf "$1"
	cp -a /usr/lib/grub/i386-pc "$1"
	python3 - "$1/relocator.mod" <<'EOF2'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
pat = bytes.fromhex('ff2500000000')       # jmp *0(%rip) in grub_relocator64_start
at = [i for i in range(len(b)) if b.startswith(pat, i)]
if len(at) != 1:
    sys.exit('relocator.mod: expected one "ff 25 00 00 00 00", found %d' % len(at))
b[at[0] + 2] = 4                           # disp32 = 4: skip the 4 pad bytes before the RIP slot
open(p, 'wb').write(b)
print('relocator.mod: patched disp32 at offset %d' % (at[0] + 2), file=sys.stderr)
EOF2
}

crc32_of() {
	python3 -c "import zlib,sys;print('0x%08x'%zlib.crc32(open(sys.argv[1],'rb').read()))" \
		"$1" 2>/dev/null || echo unknown
}

corrupt_probe() {
	python3 - "$1" "$2" <<'EOF2'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.rindex(b'probe_marker\0'); b[i + 11] = ord('X')  # the .strtab copy (last)
w = struct.pack('<I', (5 * 0x9E3779B1 + 0x5A5A1234) & 0xffffffff)
i = b.index(w); b[i] ^= 0xff
open(sys.argv[2], 'wb').write(b)
EOF2
}

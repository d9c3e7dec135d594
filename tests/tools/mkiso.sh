#!/bin/bash
# mkiso.sh - a BIOS-bootable GRUB 2 ISO that boots a kernel through mbchain.
#
#   tests/tools/mkiso.sh OUT.iso KERNEL MODULES CMDLINE [EXTRA...]
#   make iso KERNEL="/path/netbsd -s root=wd0a" MODULES="/path/a.kmod;/path/seed type=rnd" CMDLINE=...
#
# Arguments (each one shell word; quote them):
#   KERNEL   "FILE [ARGS...]": the kernel file, then the words of its module string (boot flags,
#            root=, console=, ... see mbchain's README).  It goes to /boot/<basename FILE>.
#            Empty: the default demo menu (iso/grub.cfg.in): one entry per probe kernel of
#            tests/probes (NetBSD/i386, the default, and NetBSD/amd64) with a type=rnd module.
#   MODULES  "FILE [ARGS...];FILE [ARGS...];...": further modules in order, ';' between them,
#            each FILE followed by its module string (type=, name=, ...).  Each goes to
#            /boot/<basename FILE>.  May be empty.
#   CMDLINE  mbchain's own command line (mbchain.verbose, mbchain.onerror=, mbchain.exitport=,
#            and any kernel option).  May be empty.
#   EXTRA    more files to put on the ISO: FILE (-> /boot/<basename FILE>) or /ISO/PATH=FILE.
# FILE names hold no blanks or ';'.  ARGS and CMDLINE are copied into grub.cfg as written, so
# GRUB's script syntax applies: "..." or '...' group words (GRUB drops the quotes and passes a
# word that holds a blank as "..."), '$' expands a GRUB variable, '\' escapes.
#
# Environment:
#   MBCHAIN=FILE      the mbchain binary (default: mbchain.elf next to OUT.iso, else build/)
#   PROBES=DIR        the probe kernels for the demo menu (default: probes/ next to mbchain.elf)
#   GRUB_CFG=FILE     boot commands of your own: the file replaces the generated ones (after
#                     the serial/terminal header below).  KERNEL, MODULES and EXTRA are still
#                     copied, to the paths above.  For tests that need exact menu entries.
#   MENU_DEFAULT=N    the demo menu's default entry, from 0 (default 0: NetBSD/i386)
#   MENU_TIMEOUT=S    the demo menu's timeout in seconds (default 5; 0 boots at once)
#   GRUB_DIR=DIR      GRUB's i386-pc directory (grub-mkrescue -d), e.g. a patched copy
#   GRUB_EXTRA_MODULES="bsd ..."  GRUB modules to install besides the default set
#
# grub.cfg always starts with: serial 115200 on COM1 as input and output besides the PC
# console, `insmod gzio` (GRUB then inflates gzip'd modules, as NetBSD's boot does) and
# `set timeout=0`.  After `boot` come `echo BOOT-FAILED` and `halt`, so a boot GRUB cannot do
# ends the machine instead of waiting for a key.  Prints the ISO's path and size.
set -euo pipefail

die() { echo "mkiso: $*" >&2; exit 1; }
[ $# -ge 4 ] || die "usage: $0 OUT.iso KERNEL MODULES CMDLINE [EXTRA...] (see the top of $0)"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$1 kernel=$2 modules=$3 cmdline=$4
shift 4

command -v grub-mkrescue >/dev/null || die "grub-mkrescue not found: run tests/tools/ensure-deps.sh"
command -v xorriso >/dev/null || die "xorriso not found: run tests/tools/ensure-deps.sh"

out_dir=$(cd "$(dirname "$out")" 2>/dev/null && pwd) || die "no directory for $out"
if [ -z "${MBCHAIN:-}" ]; then
	MBCHAIN=$out_dir/mbchain.elf
	[ -f "$MBCHAIN" ] || MBCHAIN=$repo/build/mbchain.elf
fi
[ -f "$MBCHAIN" ] || die "no mbchain binary at $MBCHAIN (run make, or set MBCHAIN=)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree
mkdir -p "$tree/boot/grub"
cp "$MBCHAIN" "$tree/boot/mbchain.elf"

# put FILE [ISO_PATH]: copy FILE into the tree (default /boot/<basename>); refuse a clash.
put() {
	local src=$1 dst=${2:-/boot/$(basename "$1")}
	[ -f "$src" ] || die "no such file: $src"
	case "$dst" in /*) ;; *) dst=/$dst ;; esac
	[ -e "$tree$dst" ] && die "two files would be $dst on the ISO (rename one, or use /ISO/PATH=FILE)"
	mkdir -p "$(dirname "$tree$dst")"
	cp "$src" "$tree$dst"
	iso_path=$dst
}

# module lines for MODULES, each "module /boot/NAME ARGS"
module_lines=
if [ -n "${modules//[;[:space:]]/}" ]; then
	IFS=';' read -r -a mod_list <<< "$modules"
	for m in "${mod_list[@]}"; do
		read -r file args <<< "$m" || true
		[ -n "$file" ] || continue
		put "$file"
		module_lines+="module $iso_path${args:+ $args}"$'\n'
	done
fi

for x in "$@"; do
	case "$x" in
	/*=*) put "${x#*=}" "${x%%=*}" ;;
	*) put "$x" ;;
	esac
done

cfg=$tree/boot/grub/grub.cfg
cat > "$cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod gzio
set timeout=0
EOF

if [ -n "${kernel//[[:space:]]/}" ]; then
	read -r kfile kargs <<< "$kernel" || true
	put "$kfile"
	kernel_line="module $iso_path${kargs:+ $kargs}"
elif [ -z "${GRUB_CFG:-}" ]; then
	# the default demo: both probe kernels and a NetBSD entropy file
	PROBES=${PROBES:-$(dirname "$MBCHAIN")/probes}
	for f in i386 amd64; do
		[ -f "$PROBES/netbsd-$f.elf" ] || die "no probe kernel $PROBES/netbsd-$f.elf (run make, or set PROBES=)"
		put "$PROBES/netbsd-$f.elf" "/boot/netbsd-$f"
	done
	# rndsave_t as NetBSD's rndctl -S writes it: u32 entropy, 512 data bytes, SHA-1 of both.
	python3 -c '
import hashlib, os, struct, sys
data = os.urandom(512); head = struct.pack("<I", 0)
open(sys.argv[1], "wb").write(head + data + hashlib.sha1(head + data).digest())' "$tree/boot/entropy"
fi

if [ -n "${GRUB_CFG:-}" ]; then
	[ -f "$GRUB_CFG" ] || die "GRUB_CFG=$GRUB_CFG: no such file"
	cat "$GRUB_CFG" >> "$cfg"
elif [ -n "${kernel//[[:space:]]/}" ]; then
	{
		echo "multiboot /boot/mbchain.elf${cmdline:+ $cmdline}"
		echo "$kernel_line"
		printf '%s' "$module_lines"
		echo "boot"
		echo "echo BOOT-FAILED"
		echo "halt"
	} >> "$cfg"
else
	echo "# the mbchain demo menu, from iso/grub.cfg.in" >> "$cfg"
	MENU_DEFAULT=${MENU_DEFAULT:-0} MENU_TIMEOUT=${MENU_TIMEOUT:-5} CMDLINE=$cmdline \
		MODULE_LINES=$module_lines awk '
	function subst(s, key, val,   i, r) {
		for (r = ""; (i = index(s, key)) > 0; s = substr(s, i + length(key)))
			r = r substr(s, 1, i - 1) val
		return r s
	}
	/^#/ { next }  # comments of the template file
	/@MODULES@/ {
		indent = $0; sub(/@MODULES@.*/, "", indent)
		n = split(ENVIRON["MODULE_LINES"], lines, "\n")
		for (i = 1; i <= n; i++) if (lines[i] != "") print indent lines[i]
		next
	}
	{
		line = subst($0, "@DEFAULT@", ENVIRON["MENU_DEFAULT"])
		line = subst(line, "@TIMEOUT@", ENVIRON["MENU_TIMEOUT"])
		c = ENVIRON["CMDLINE"]
		line = subst(line, " @CMDLINE@", c == "" ? "" : " " c)
		print line
	}' "$repo/iso/grub.cfg.in" >> "$cfg"
fi

grub_modules="multiboot normal serial terminal echo halt iso9660 biosdisk part_msdos gzio configfile"
grub_modules+=" ${GRUB_EXTRA_MODULES:-}"
log=$tmp/grub-mkrescue.log
if ! grub-mkrescue ${GRUB_DIR:+-d "$GRUB_DIR"} -o "$out" --install-modules="$grub_modules" \
	--locales= --fonts= --themes= "$tree" > "$log" 2>&1; then
	cat "$log" >&2
	die "grub-mkrescue failed"
fi
echo "mkiso: $out ($(stat -c %s "$out") bytes)"

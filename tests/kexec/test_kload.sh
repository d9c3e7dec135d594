#!/bin/sh
# test_kload.sh - tools/kload on the host, without root and without kexec-tools: a fake kexec
# and a fake id on a PATH of their own, KLOAD_SYSROOT for /proc and /sys.  Checks the -n
# output, the arguments kload gives kexec, and every error message.
#
#   tests/kexec/test_kload.sh [BUILD]     (BUILD: mbchain.elf and probes/, default build)
#
# Prints "ok NAME" or "FAIL NAME: detail" per check, then "N passed, N failed"; exit 1 on
# any failure.  The same error paths are provoked for real inside the VM by tests/kexec/kexec.py.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd) || { echo "FAIL setup: no build folder"; exit 1; }
KLOAD=$ROOT/tools/kload
I386=$BUILD/probes/netbsd-i386.elf
AMD64=$BUILD/probes/netbsd-amd64.elf
FBSD=$BUILD/probes/freebsd-amd64.elf
MB=$BUILD/mbchain.elf
for f in "$KLOAD" "$I386" "$AMD64" "$MB"; do
	[ -f "$f" ] || { echo "FAIL setup: $f missing (make all)"; echo "0 passed, 1 failed"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/test_kload.XXXXXX")
trap 'rm -rf "$T"' EXIT
# A PATH holding only what kload needs, the fakes, and (in $T/bin-kexec) kexec.
mkdir -p "$T/bin" "$T/bin-kexec" "$T/sys/proc/sys/kernel" "$T/sys/sys/kernel/security" "$T/alt/stand"
for tool in od tr sed grep dirname mktemp gzip cat sync tail head rm env sh printf; do
	p=$(command -v "$tool") && ln -s "$p" "$T/bin/$tool"
done
cat >"$T/bin/id" <<'EOF'
#!/bin/sh
# fake id: the uid comes from FAKE_UID (default 0)
[ "$1" = -u ] && { echo "${FAKE_UID:-0}"; exit 0; }
exec /usr/bin/id "$@"
EOF
cat >"$T/bin-kexec/kexec" <<'EOF'
#!/bin/sh
# fake kexec: logs its arguments one per line, behaves as FAKE_KEXEC says
{ echo "kexec $#"; for a in "$@"; do echo "$a"; done; } >>"$FAKE_KEXEC_LOG"
case ${FAKE_KEXEC:-ok} in
ok) exit 0 ;;
eperm) echo "kexec_load failed: Operation not permitted" >&2
       echo "entry       = 0x1760 flags = 0x3e0000" >&2; exit 255 ;;
einval) echo "Warning: kernel segment limit reached. This will likely fail" >&2
        echo "kexec_load failed: Invalid argument" >&2; exit 255 ;;
other) echo "Cannot open \`/x': No such file or directory" >&2; exit 1 ;;
esac
EOF
chmod +x "$T/bin/id" "$T/bin-kexec/kexec"
echo 0 >"$T/sys/proc/sys/kernel/kexec_load_disabled"
echo "[none] integrity confidentiality" >"$T/sys/sys/kernel/security/lockdown"
cp "$I386" "$T/alt/netbsd"
printf 'seed' >"$T/alt/stand/rnd.seed"
printf 'seed' >"$T/rnd"
gzip -c "$I386" >"$T/netbsd.gz"
printf '#!/bin/sh\necho not a kernel\n' >"$T/script"

PASS=0; FAILED=0
export FAKE_KEXEC_LOG="$T/kexec.log" KLOAD_SYSROOT="$T/sys" MBCHAIN_ELF="$MB"
# kl ARGS...: run kload with the test PATH (kexec present); sets OUT (stdout+stderr), RC
kl() {
	: >"$FAKE_KEXEC_LOG"
	OUT=$(PATH="$T/bin:$T/bin-kexec" "$KLOAD" "$@" 2>&1); RC=$?
}
ok() { echo "ok   $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
# want NAME RC TEXT: the last kl exited RC and its output is exactly TEXT
want() {
	if [ "$RC" = "$2" ] && [ "$OUT" = "$3" ]; then ok "$1"; else
		fail "$1" "exit $RC (want $2), output:
$OUT
--- want:
$3"
	fi
}
# want_sub NAME RC TEXT: ... contains TEXT
want_sub() {
	case $OUT in
	*"$3"*) [ "$RC" = "$2" ] && { ok "$1"; return; } ;;
	esac
	fail "$1" "exit $RC (want $2), output [$OUT] lacks [$3]"
}
# want_log NAME TEXT: the fake kexec's log is exactly TEXT
want_log() {
	got=$(cat "$FAKE_KEXEC_LOG")
	if [ "$got" = "$2" ]; then ok "$1"; else fail "$1" "kexec got:
$got
--- want:
$2"; fi
}

# --- -n: the command, nothing run ----------------------------------------------------------
kl -n -k mbchain.exitport=0xf4 -m "$T/rnd,type=rnd" "$I386" -s root=wd0a
want dry-run 0 "kexec -l $MB --type multiboot-x86 --command-line=mbchain.exitport=0xf4 --module='$I386 -s root=wd0a' --module='$T/rnd type=rnd'"
want_log dry-run-runs-nothing ""
kl -n -e "$I386"
want dry-run-exec 0 "kexec -l $MB --type multiboot-x86 --command-line= --module=$I386
sync
kexec -e"
mkdir -p "$T/sys/run/systemd/system"
kl -n -r "$I386"
want_sub dry-run-reboot-systemd 0 "
systemctl kexec"
rmdir "$T/sys/run/systemd/system"
kl -n -r "$I386"
want_sub dry-run-reboot-init 0 "
reboot"
kl -n -u
want dry-run-unload 0 "kexec -u"
kl -n -k mbchain.verbose -k root=wd0e -k console=com "$AMD64" -s root=wd0a
want dry-run-k-options 0 "kexec -l $MB --type multiboot-x86 --command-line=mbchain.verbose --module='$AMD64 -s root=wd0a root=wd0e console=com'"
kl -n -h "$T/alt" -m stand/rnd.seed,type=rnd
want dry-run-altroot-default 0 "kexec -l $MB --type multiboot-x86 --command-line= --module='$T/alt/netbsd name=/netbsd' --module='$T/alt/stand/rnd.seed type=rnd name=/stand/rnd.seed'"
kl -n -m "$T/rnd,type=fs,name=/miniroot.fs" "$T/netbsd.gz" 'userconf=disable ahc*'
want dry-run-gzip-commas-blanks 0 "kexec -l $MB --type multiboot-x86 --command-line= --module='$T/netbsd.gz \"userconf=disable ahc*\"' --module='$T/rnd type=fs name=/miniroot.fs'"
if [ -f "$FBSD" ]; then
	mkdir -p "$T/sys/sys/firmware/efi"
	printf 'ACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS=0x7f9a5000\n' >"$T/sys/sys/firmware/efi/systab"
	kl -n "$FBSD" -s
	want dry-run-freebsd-uefi-rsdp 0 "kexec -l $MB --type multiboot-x86 --command-line= --module='$FBSD -s acpi.rsdp=0x7fb7e014'"
	kl -n "$I386"
	want dry-run-netbsd-no-rsdp 0 "kexec -l $MB --type multiboot-x86 --command-line= --module=$I386"
	rm -r "$T/sys/sys/firmware"
fi

# --- loading: the arguments kexec gets -------------------------------------------------------
kl -k mbchain.exitport=0xf4 -m "$T/rnd,type=rnd" "$I386" -s root=wd0a
want load 0 "kload: loaded $I386 (netbsd i386) through $MB with 1 module(s)"
want_log load-kexec-args "kexec 7
-l
$MB
--type
multiboot-x86
--command-line=mbchain.exitport=0xf4
--module=$I386 -s root=wd0a
--module=$T/rnd type=rnd"
kl -e "$AMD64"
want exec-returns 1 "kload: loaded $AMD64 (netbsd amd64) through $MB with 0 module(s)
kload: executing now (kexec -e)
kload: error: kexec -e returned"
want_log exec-kexec-args "kexec 6
-l
$MB
--type
multiboot-x86
--command-line=
--module=$AMD64
kexec 1
-e"
kl -u
want unload 0 "kload: unloaded"
want_log unload-kexec-args "kexec 1
-u"
kl --check -m "$T/rnd" "$I386"
want check-ok 0 "kernel: $I386: netbsd i386 (ELF32)
mbchain: $MB (1 loadable segment(s))
modules: 1 (room for 11 besides the kernel)
kexec segments: 6 of 16 (1 mbchain, 1 purgatory, 1 memory map, 1 MBI, 1 kernel, 1 modules)
note: mbchain's planner is not built for the host: layout (memory map fit, NetBSD window, FreeBSD below 1 GiB) not checked
check: ok"
want_log check-runs-nothing ""

# --- errors: one line each -----------------------------------------------------------------------
kl "$T/script"
want not-elf 1 "kload: error: $T/script is not an ELF file (nor a gzip-compressed one): not a NetBSD or FreeBSD kernel"
kl "$T/bin-kexec/../bin/id"
want_sub not-elf-2 1 "is not an ELF file"
SH=$(readlink -f "$(command -v sh)")
kl "$SH"
want not-bsd 1 "kload: error: $SH is an ELF file but not a NetBSD kernel (no NetBSD ident note) nor a FreeBSD one (OSABI 0, no FreeBSD note)"
kl "$T/nonexistent"
want no-such-kernel 1 "kload: error: $T/nonexistent: no such file"
kl -m "$T/nomodule" "$I386"
want no-such-module 1 "kload: error: module $T/nomodule: no such file"
kl
want no-kernel 1 "kload: error: no kernel given, and none at /netbsd or /boot/kernel/kernel"
kl -e -r "$I386"
want e-and-r 1 "kload: error: -e and -r exclude each other"
kl -x "$I386"
want_sub unknown-option 2 "kload: unknown option -x"
OUT=$(MBCHAIN_ELF="$T/nope" PATH="$T/bin:$T/bin-kexec" "$KLOAD" "$I386" 2>&1); RC=$?
want no-mbchain 1 "kload: error: MBCHAIN_ELF=$T/nope does not exist"
OUT=$(FAKE_UID=1000 PATH="$T/bin:$T/bin-kexec" "$KLOAD" "$I386" 2>&1); RC=$?
want not-root 1 "kload: error: not root: kexec needs CAP_SYS_BOOT (run kload as root, e.g. with sudo)"
OUT=$(FAKE_UID=1000 PATH="$T/bin:$T/bin-kexec" "$KLOAD" -n "$I386" 2>&1); RC=$?
want_sub not-root-dry-run-ok 0 "kexec -l"
OUT=$(PATH="$T/bin" "$KLOAD" "$I386" 2>&1); RC=$?
want kexec-missing 1 "kload: error: kexec not found: install kexec-tools (Debian: apt-get install kexec-tools; it then sets LOAD_KEXEC=true in /etc/default/kexec)"
echo 1 >"$T/sys/proc/sys/kernel/kexec_load_disabled"
kl "$I386"
want load-disabled 1 "kload: error: kexec is disabled on this system: /proc/sys/kernel/kexec_load_disabled = 1 (it stays so until the next reboot)"
echo 0 >"$T/sys/proc/sys/kernel/kexec_load_disabled"
for mode in integrity confidentiality; do
	echo "none [$mode] confidentiality" | sed "s/\[confidentiality\] confidentiality/[confidentiality]/" \
		>"$T/sys/sys/kernel/security/lockdown"
	kl "$I386"
	want "lockdown-$mode" 1 "kload: error: the kernel is in lockdown ($mode mode, as under UEFI Secure Boot): it refuses kexec_load with EPERM, so mbchain cannot be loaded from Linux; boot it from GRUB, or disable Secure Boot"
done
echo "[none] integrity confidentiality" >"$T/sys/sys/kernel/security/lockdown"
FAKE_KEXEC=eperm kl "$I386"
want kexec-eperm 1 "kload: error: kexec -l was refused (EPERM): kexec_load failed: Operation not permitted"
FAKE_KEXEC=einval kl "$I386"
want kexec-einval 1 "kload: error: kexec -l failed (EINVAL: more than 16 segments, or a segment outside RAM): kexec_load failed: Invalid argument"
FAKE_KEXEC=other kl "$I386"
want kexec-other 1 "kload: error: kexec -l failed (exit 1): Cannot open \`/x': No such file or directory"
M=; i=0
while [ $i -lt 12 ]; do M="$M -m $T/rnd"; i=$((i + 1)); done
# shellcheck disable=SC2086  # twelve -m options
kl $M "$I386"
want too-many-modules 1 "kload: error: 12 modules make 17 kexec segments, more than kexec_load's 16 (at most 11 modules besides the kernel)"
want_log too-many-runs-nothing ""
# shellcheck disable=SC2086
kl --check $M "$I386"
want_sub check-too-many 1 "problem: 17 kexec segments, more than kexec_load's 16: drop 1 module(s)"
OUT=$(FAKE_UID=1000 PATH="$T/bin" "$KLOAD" --check "$I386" 2>&1); RC=$?
want_sub check-reports-all 1 "problem: not root"
want_sub check-reports-all-2 1 "problem: kexec not found"
want_sub check-reports-all-3 1 "check: 2 problem(s)"

echo "$PASS passed, $FAILED failed"
[ "$FAILED" = 0 ]

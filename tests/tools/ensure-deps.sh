#!/bin/sh
# shellcheck disable=SC2086
# ensure-deps.sh - install the Debian 12 packages mbchain needs to build and test, if missing.
#
#   tests/tools/ensure-deps.sh          (run by `make deps`, and so by make run/test/iso)
#
# Build: gcc make nasm binutils.  Test: qemu-system-x86 grub-pc-bin grub-common xorriso mtools
# python3, and the loaders of the later boot tests: isolinux syslinux-common bochs-term bochs
# bochsbios vgabios (bochs-term before bochs, so apt picks it for bochs's GUI alternative rather
# than bochs-wx); the static checks and fuzzers: clang lld libclang-rt-14-dev cppcheck
# clang-tidy, zlib1g-dev (the inflate fuzzer's reference decoder); the benchmark plot: gnuplot-nox.
# Installed with --no-install-recommends (recommends pull in ~500 MB of GTK/mesa).
# When everything is present this is one dpkg-query (well under a second) and apt is not run.
# Waits up to 300 s for another process's dpkg lock.  Needs root or sudo only when installing.
# DEPS_EXTRA="pkg ..." adds packages to the list.
set -eu
set -f # the lists below are split on blanks on purpose; no globbing

pkgs="gcc make nasm binutils qemu-system-x86 grub-pc-bin grub-common xorriso mtools python3
isolinux syslinux-common bochs-term bochs bochsbios vgabios
clang lld libclang-rt-14-dev zlib1g-dev cppcheck clang-tidy gnuplot-nox ${DEPS_EXTRA:-}"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "ensure-deps: no dpkg-query: this script knows Debian/Ubuntu only; install by hand:" >&2
	echo "  apt-get install --no-install-recommends" $pkgs >&2
	exit 1
fi

# One dpkg-query for all of them; a package never seen makes dpkg-query print an error and no line.
installed=" $(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null |
	awk '$2 == "ii" { printf "%s ", $1 }' || true)"
missing=
for p in $pkgs; do
	case "$installed" in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "ensure-deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "ensure-deps: need root to install$missing; run as root or install sudo, or install them by hand:" >&2
	echo "  apt-get install --no-install-recommends$missing" >&2
	exit 1
fi

apt="env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300"
$as_root $apt update -q
$as_root $apt install -y -q --no-install-recommends $missing
echo "ensure-deps: done"

#!/bin/sh
# check.sh - the static checks of issue 5: src/ builds warning-free (-Wall -Wextra -Werror, the
# Makefile's flags) with gcc and with clang, cppcheck and clang-tidy find nothing.  Prints
# "static: <tool>: ok" or "static: <tool>: FAIL" per tool (with the findings), then a summary;
# exits 1 when any failed.
#
#   tests/static/check.sh                  all four
#   tests/static/check.sh cppcheck tidy    some of: gcc clang cppcheck tidy
#
# Builds go to build/static/ (never `make clean`: the main build dir is left alone).
# Suppressions live in src/ only, inline, each with its justification:
#   cppcheck:   // cppcheck-suppress <id>  (on the line before; --inline-suppr)
#   clang-tidy: // NOLINT(<check>) or // NOLINTNEXTLINE(<check>)
# Both analyse the boot binary's configuration: freestanding, i386, MBCHAIN_HOST undefined.
# _Noreturn is spelt __attribute__((noreturn)) for cppcheck 2.10, which otherwise does not know
# that fail() never returns.  Needs the Debian packages gcc clang lld nasm binutils make cppcheck
# clang-tidy.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${STATIC_OUT:-$root/build/static}
mkdir -p "$out"
cd "$root" || exit 2

TIDY_CHECKS='-*,bugprone-*,cert-*,clang-analyzer-*,-misc-*'
# Off, with the reason:
#  bugprone-easily-swappable-parameters: (pa, len) pairs everywhere; a style opinion, not a bug
#  bugprone-implicit-widening-of-multiplication-result: fires on constant macros (MIB, 3 * PAGE_SIZE)
#  clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling: wants memcpy_s (Annex K),
#    which no freestanding build has
TIDY_CHECKS="$TIDY_CHECKS,-bugprone-easily-swappable-parameters,-bugprone-implicit-widening-of-multiplication-result"
TIDY_CHECKS="$TIDY_CHECKS,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling"
TIDY_FLAGS="-std=c11 -m32 -ffreestanding -fno-builtin -Isrc -I."

CPPCHECK_FLAGS="--enable=warning,style,performance,portability --error-exitcode=1 --inline-suppr --std=c11
	--platform=unix32 -D__i386__ -D_Noreturn=__attribute__((noreturn)) -Isrc -I. --quiet --template=gcc"

failed=0
passed=0

step() {
	name=$1
	shift
	log=$out/$name.log
	if "$@" >"$log" 2>&1; then
		echo "static: $name: ok"
		passed=$((passed + 1))
	else
		echo "static: $name: FAIL ($log)"
		grep -E ':[0-9]+(:[0-9]+)?: (fatal error|error|warning|style|performance|portability)' "$log" |
			sed "s|^$root/||; s/^/static:   /" | head -n 40
		failed=$((failed + 1))
	fi
}

need() {
	command -v "$1" >/dev/null 2>&1 || { echo "static: $2: FAIL ($1 is not installed: apt-get install $3)"; failed=$((failed + 1)); return 1; }
}

build_with() {
	cc=$1
	dir=$out/$cc
	rm -rf "$dir"
	make --no-print-directory BUILD="$dir" CC="$cc" "$dir/mbchain.elf" "$dir/mbchain-fb.elf"
}

cppcheck_src() {
	# shellcheck disable=SC2086
	cppcheck $CPPCHECK_FLAGS src/*.c
}

tidy_src() {
	# shellcheck disable=SC2086
	clang-tidy --quiet --warnings-as-errors='*' -checks="$TIDY_CHECKS" src/*.c -- $TIDY_FLAGS
}

tools=${*:-gcc clang cppcheck tidy}
for t in $tools; do
	case $t in
	gcc) need gcc gcc gcc && step gcc build_with gcc ;;
	clang) need clang clang "clang lld" && need ld.lld clang lld && step clang build_with clang ;;
	cppcheck) need cppcheck cppcheck cppcheck && step cppcheck cppcheck_src ;;
	tidy) need clang-tidy clang-tidy clang-tidy && step clang-tidy tidy_src ;;
	*)
		echo "static: unknown tool $t (gcc clang cppcheck tidy)" >&2
		exit 2
		;;
	esac
done
echo "static: $passed ok, $failed failed"
[ "$failed" -eq 0 ]

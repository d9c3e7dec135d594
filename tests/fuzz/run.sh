#!/bin/sh
# run.sh OUT SECONDS HARNESS... - replay each harness's seeds and regressions, then fuzz it for
# SECONDS (0: replay only).  Prints per harness: executions, coverage, crashes.  Exits 1 when a
# regression or a fuzz run crashed (reproducers: OUT/artifacts/<harness>/).  Called by
# tests/fuzz/Makefile (run, smoke, regress).
set -u
out=$1
secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
failed=0
total_execs=0
for h in "$@"; do
	bin=$out/fuzz_$h
	seeds=$here/corpus/$h
	regs=$here/regressions/$h
	work=$out/corpus/$h
	arts=$out/artifacts/$h
	log=$out/logs/$h.log
	mkdir -p "$work" "$arts" "$out/logs"
	status=ok
	# regressions: each file once (regressions/<harness>/open/ holds reproducers of bugs still
	# open in src: not replayed here, see tests/fuzz/README.md)
	files=$(find "$regs" -maxdepth 1 -type f 2>/dev/null | sort)
	if [ -n "$files" ]; then
		# shellcheck disable=SC2086
		if ! "$bin" $files >"$out/logs/$h.regress.log" 2>&1; then
			echo "fuzz: $h: a regression input fails (see $out/logs/$h.regress.log)"
			status=FAIL
		fi
	fi
	before=$(ls "$arts" | wc -l)
	if [ "$secs" -gt 0 ]; then
		# FUZZ_SEED (the smoke run in `make test` sets it) makes the input sequence the same on
		# every run, so CI cannot fail on a finding no one has seen: a new bug is found by
		# `make fuzz`, which leaves the seed to libFuzzer
		"$bin" -max_total_time="$secs" ${FUZZ_SEED:+-seed=$FUZZ_SEED} -print_final_stats=1 -timeout=25 -rss_limit_mb=4096 \
			-artifact_prefix="$arts/" "$work" "$seeds" >"$log" 2>&1
		rc=$?
	else
		"$bin" -runs=0 -print_final_stats=1 -artifact_prefix="$arts/" "$seeds" >"$log" 2>&1
		rc=$?
	fi
	after=$(ls "$arts" | wc -l)
	crashes=$((after - before))
	[ $rc -ne 0 ] && [ $crashes -eq 0 ] && crashes=1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	line=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$line" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
	[ $crashes -gt 0 ] && status=FAIL
	[ "$status" = FAIL ] && failed=$((failed + 1))
	total_execs=$((total_execs + ${execs:-0}))
	echo "fuzz: $h: ${execs:-?} executions, coverage ${cov:-?} edges (${ft:-?} features), corpus ${corp:-?}, crashes $crashes: $status"
	if [ $crashes -gt 0 ]; then
		grep -aE 'ERROR|runtime error|invariant broken|SUMMARY' "$log" | head -n 5 | sed 's/^/fuzz:   /'
		ls -t "$arts" | head -n 3 | sed "s|^|fuzz:   reproducer: $arts/|"
	fi
done
echo "fuzz: $# harnesses, $failed failed, $total_execs executions in all"
[ $failed -eq 0 ]

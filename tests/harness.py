"""harness.py - what the QEMU/Bochs test modules (forge, loaders, kexec, grubd, passthrough,
differential) share: reading a boot's logs, the one-line summary of a boot, and the stand-alone
main() that runs a module's cases and prints them.

A module exports CASES and run_case(name, build, verbose=False) -> (exit status, one-line
summary, problems); problems == [] is a pass, ['SKIP: reason'] a skip, and a problem that starts
with '--- ' is an attachment (a log, a table) shown with the others but no failure by itself.
"""
import argparse
import concurrent.futures
import os
import shutil
import time

ERROR = 'mbchain: error: '


def read_log(tmp, name='e9.log'):
    """The text of tmp/name (QEMU's -debugcon 0xE9 log by default), '' when the file is absent
    (the emulator never started or wrote nothing); undecodable bytes are replaced."""
    path = os.path.join(tmp, name)
    if not os.path.exists(path):
        return ''
    with open(path, errors='replace') as f:
        return f.read()


def missing(files, tools=(), hint='make all'):
    """None when every one of files exists and every one of tools is on PATH, else the result
    run_case() returns for the absent ones: (-1, '-', ['harness: missing A, B (hint)'])."""
    gone = [p for p in files if not os.path.exists(p)] + [t for t in tools if not shutil.which(t)]
    if gone:
        return -1, '-', ['harness: missing %s (%s)' % (', '.join(gone), hint)]
    return None


def summarize(e9, problems, verbose):
    """The end of a boot's run_case(): (summary, problems).  summary is mbchain's first
    "mbchain: error: " line, else 'result: PASS' when the probe said so, else '-'.  With
    verbose and any problem, the 0xE9 log is appended to problems (the list is extended in place
    and returned)."""
    lines = e9.replace('\r', '').split('\n')
    errors = [l for l in lines if l.startswith(ERROR)]
    passed = any(l.startswith('result: PASS') for l in lines)
    summary = errors[0] if errors else ('result: PASS' if passed else '-')
    if problems and verbose:
        problems.append('--- 0xE9 log ---\n' + e9)
    return summary, problems


def _is_skip(problems):
    return bool(problems) and all(p.startswith('SKIP: ') for p in problems)


def _is_failure(problems):
    return any(not p.startswith('--- ') for p in problems) and not _is_skip(problems)


def standalone_main(cases, run_case, prefix, parallel=True, extra_args=None, *, width=24,
                    jobs=None, timed=False, skips=False, total_time=False, before=None,
                    case_options=()):
    """A test module's main(): options --build DIR, --only SUBSTRING (matched against
    prefix + name, as tests/run.py does), -v, and -j N when parallel (default jobs, else
    max(2, cores)); extra_args(parser) adds a module's own options and case_options names those
    handed to run_case as keywords.  before(args), when given, runs first; a number it returns
    ends main() with that status.  cases: names, or tuples whose first item is the name.

    Prints a line a case, in case order: 'ok|FAIL|SKIP PREFIXNAME exit N [T s]  summary' (the
    name padded to width; the time with timed), each problem indented below it, and last
    'N passed, N failed' (+ ', N skipped' with skips, + ' (T s)' with total_time).  A case that
    raises is a failure 'harness: ...'.  Returns 1 when a case failed, else 0."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'build'))
    ap.add_argument('--only', default='')
    if parallel:
        ap.add_argument('-j', type=int, default=jobs or max(2, os.cpu_count() or 2))
    ap.add_argument('-v', action='store_true')
    if extra_args:
        extra_args(ap)
    args = ap.parse_args()
    t0 = time.monotonic()
    if before:
        status = before(args)
        if status is not None:
            return status
    build = os.path.abspath(args.build)
    names = [c[0] if isinstance(c, tuple) else c for c in cases]
    names = [n for n in names if args.only in prefix + n]
    kwargs = {k: getattr(args, k) for k in case_options}

    def one(n):
        t = time.monotonic()
        try:
            r = run_case(n, build, args.v, **kwargs)
        except Exception as e:  # a harness error is a failure
            r = -1, '-', ['harness: %r' % e]
        return tuple(r) + (time.monotonic() - t,)

    failed = skipped = 0

    def show(n, result):
        nonlocal failed, skipped
        rc, summary, problems, dt = result
        skip, fail = _is_skip(problems), _is_failure(problems)
        took = '%5.1f s  ' % dt if timed else ''
        print('%-4s %s%-*s exit %-4d %s%s' % ('SKIP' if skip else 'FAIL' if fail else 'ok',
                                              prefix, width, n, rc, took, summary))
        for p in problems:
            print('     ' + p.replace('\n', '\n     '))
        failed += fail
        skipped += skip

    if parallel:
        with concurrent.futures.ThreadPoolExecutor(args.j) as pool:
            futs = [(n, pool.submit(one, n)) for n in names]
            for n, fut in futs:
                show(n, fut.result())
    else:  # one at a time, each printed as it ends
        for n in names:
            show(n, one(n))
    line = '%d passed, %d failed' % (len(names) - failed - skipped, failed)
    if skips:
        line += ', %d skipped' % skipped
    if total_time:
        line += ' (%.1f s)' % (time.monotonic() - t0)
    print(line)
    return 1 if failed else 0

#!/usr/bin/env python3
"""The CI summary of one or more test runs, from their JUnit XML reports.

Usage: .ci/summary.py [--single] NAME=DIR [NAME=DIR ...]

Each DIR is searched for TEST-*.xml (Surefire, Failsafe and the JUnit console launcher write
them). Prints, per run, the tests that passed, failed and were skipped, with every skip's reason,
and exits non-zero unless:
  - no test failed or errored in any run, and every run has tests;
  - every skip is one of the two kinds that no run on a machine of one kind can avoid (see
    isolation-core's Skip.java), recognised by the start of its reason:
      "inapplicable to this architecture: "   the test is for another processor architecture;
      "inapplicable to this host's cgroups: "  the test needs cgroups arranged otherwise, and
                                               passed in one of the other runs (a guest of
                                               another layout); with --single (one run, as
                                               .ci/vm-tests.sh checks each guest) it is listed only.
    Any other skip, an aborted test included, counts as a failure: under CI a test that this
    machine or its guests can run must run.
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

ARCH = "inapplicable to this architecture: "
CGROUPS = "inapplicable to this host's cgroups: "


def read_run(directory):
    """{(class, test): (status, reason)} of every test case in the reports under directory."""
    cases = {}
    files = glob.glob(os.path.join(directory, "**", "TEST-*.xml"), recursive=True)
    for path in sorted(files):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            cases[(os.path.basename(path), "(report)")] = ("failed", "unreadable report: %s" % e)
            continue
        suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
        for suite in suites:
            for case in suite.iter("testcase"):
                # the console launcher names a method without parameters "m()", Surefire "m": one name for both
                name = case.get("name") or "?"
                key = (case.get("classname") or suite.get("name") or "?", name[:-2] if name.endswith("()") else name)
                failed = case.find("failure") if case.find("failure") is not None else case.find("error")
                skipped = case.find("skipped")
                if failed is not None:
                    text = (failed.get("message") or failed.text or "").strip()
                    cases[key] = ("failed", text.splitlines()[0] if text else "(no message)")
                elif skipped is not None:
                    # a disabled test has its reason in "message"; an aborted one in the stack trace's first line
                    reason = skipped.get("message") or (skipped.text or "").strip()
                    reason = reason.splitlines()[0] if reason else "(no reason given)"
                    reason = reason.split("TestAbortedException: ", 1)[-1]
                    cases[key] = ("skipped", reason)
                else:
                    cases.setdefault(key, ("passed", ""))
    return cases


def main(argv):
    single = "--single" in argv
    specs = [a for a in argv if a != "--single"]
    if not specs or any("=" not in s for s in specs):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    runs = {}
    for spec in specs:
        name, directory = spec.split("=", 1)
        runs[name] = read_run(directory)
    passed_anywhere = {k for cases in runs.values() for k, (status, _) in cases.items() if status == "passed"}

    problems = []
    print("== test summary (run: passed, failed, skipped)")
    for name, cases in runs.items():
        counts = {s: sum(1 for st, _ in cases.values() if st == s) for s in ("passed", "failed", "skipped")}
        print("   %-8s %5d passed, %3d failed, %3d skipped" % (name, counts["passed"], counts["failed"], counts["skipped"]))
        if not cases:
            problems.append("%s: no test reports" % name)
    for name, cases in runs.items():
        for (cls, test), (status, reason) in sorted(cases.items()):
            where = "%s: %s#%s" % (name, cls.rsplit(".", 1)[-1], test)
            if status == "failed":
                problems.append("%s failed: %s" % (where, reason))
            elif status == "skipped":
                if ARCH in reason:
                    print("   skipped %s: %s" % (where, reason))
                elif CGROUPS in reason:
                    if single or (cls, test) in passed_anywhere:
                        print("   skipped %s: %s" % (where, reason))
                    else:
                        problems.append("%s skipped here and passed in no other run: %s" % (where, reason))
                else:
                    problems.append("%s skipped or aborted, which CI counts as a failure: %s" % (where, reason))
    if problems:
        print("== test summary: FAILED")
        for p in problems:
            print("   " + p)
        return 1
    print("== test summary: passed (every skip above is for another architecture or cgroup arrangement)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

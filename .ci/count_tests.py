"""Counts GoogleTest cases in meson test logs and prints 'N passed, N failed'.

A test program that failed without reporting a failed case (a crash, an
abort, a timeout) counts as one failed case, so nothing broken goes unseen.
Exits non-zero when anything failed or when no log could be read.
"""
import json
import re
import sys

ok_case = re.compile(r"^\[       OK \] ", re.M)
failed_case = re.compile(r"^\[  FAILED  \] .*\(\d+ ms\)$", re.M)
skipped_case = re.compile(r"^\[  SKIPPED \] .*\(\d+ ms\)$", re.M)

passed = failed = skipped = 0
logs_read = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as error:
        print(f"count_tests: cannot read {path}: {error}")
        failed += 1
        continue
    logs_read += 1
    for line in lines:
        record = json.loads(line)
        out = record.get("stdout", "") or ""
        p = len(ok_case.findall(out))
        f = len(failed_case.findall(out))
        s = len(skipped_case.findall(out))
        if record.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
            print(f"count_tests: {record.get('name')} ended {record.get('result')} "
                  f"without a failed test case (crash or timeout)")
            f = 1
        passed += p
        failed += f
        skipped += s

print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or logs_read == 0 else 0)

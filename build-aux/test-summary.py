#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Adds up the meson test logs of the given build folders and prints one line,
"N passed, M failed" (", K skipped" when any were skipped).  Exits 1 when a
test failed or a log is missing, so `make check` fails with it."""
import json
import sys

passed = failed = skipped = 0
missing = []
for build in sys.argv[1:]:
    path = f"{build}/meson-logs/testlog.json"
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                if not line.strip():
                    continue
                result = json.loads(line)["result"]
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        missing.append(path)

for path in missing:
    print(f"test-summary: no test log at {path} (did the build fail?)", file=sys.stderr)
line = f"{passed} passed, {failed + len(missing)} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or missing else 0)

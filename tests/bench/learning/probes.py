# SPDX-License-Identifier: MIT
"""Counting probe answers in a run's evaluation.json (standard library only).

Shared by tests/bench/sweep-settings.py, tests/bench/learning-bench.py and
the make-check test tests/bench/test-learning-small.sh."""
import json
import os
import sys


def matches(answer, expect):
    """One of the |-separated phrases of @expect is in @answer, ignoring case
    (as temper_evaluate_expect_matches() reads "expect")."""
    low = answer.lower()
    return any(alt.strip().lower() in low for alt in expect.split("|") if alt.strip())


def score(run_dir, probes_path):
    """(probes, [right before, right after], (general questions, right before, right after))."""
    with open(os.path.join(run_dir, "evaluation.json"), encoding="utf-8") as f:
        ev = json.load(f)
    with open(probes_path, encoding="utf-8") as f:
        expects = [json.loads(line)["expect"] for line in f if line.strip()]
    name = os.path.basename(probes_path)
    target = next(s for s in ev["sets"] if s.get("name") == name)
    if len(target["records"]) != len(expects):
        raise SystemExit("%s: %d answers for %d probes" % (run_dir, len(target["records"]), len(expects)))
    right = [0, 0]
    zh = [0, 0, 0]   # probes whose phrase is Chinese, right before, after
    for rec, expect in zip(target["records"], expects):
        chinese = any("\u4e00" <= c <= "\u9fff" for c in expect)
        zh[0] += chinese
        for m, key in enumerate(("base", "tuned")):
            if matches(rec[key]["answer"], expect):
                right[m] += 1
                zh[1 + m] += chinese
    score.chinese = zh
    gen = ev["general"]
    return len(expects), right, (gen["n_questions"], gen["base_right"], gen["tuned_right"])


if __name__ == "__main__":
    # probes.py RUN PROBES: prints "probes before after"
    n, right, _ = score(sys.argv[1], sys.argv[2])
    print(n, right[0], right[1])

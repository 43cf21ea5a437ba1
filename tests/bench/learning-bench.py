#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The learning benchmark of issue 15 §2 (not a timed test).

Trains with the default settings (`temper-cli train --preset P`, nothing
else chosen by hand) on each held-out learning set of tests/bench/learning/,
then asks its probe questions (the facts asked in other words, never in
training) with `temper-cli evaluate`, greedy, and prints how many the base
model and the tuned model answer right, and the general-question score
before and after (the forgetting check's bundled questions).

    tests/bench/learning-bench.py --cli build/app/cli/temper-cli --work build/learning-bench \
        [--presets quick balanced] [--sets facts-20 facts-20-distinct facts-60 facts-200 style classify]
        [--model M] [--general-limit N] [--train-args "--replay 0" --tag noreplay]
        [--seed S] [--threads T]

--general-limit N asks only the first N general questions (the sweep's 12),
to save time; the default asks all of them.  --train-args adds `train` flags
to every run (a point measured against the defaults, e.g. without replay),
--tag names those runs' folders apart.  Each line also splits the probes
into English and Chinese.  --seed S trains with another seed (default 42;
any other names the folders "-sS" apart); --threads T passes CPU threads to
train and evaluate (default 1, so that a run leaves the other cores free;
the figures do not depend on it).

Targets: quick ≥ 75 % of probes after, balanced ≥ 85 %, base ≤ 10 %,
general questions not worse beyond chance (two more forgotten than gained).
A finished run is scored again without training when run a second time.
Standard library only.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETS = os.path.join(ROOT, "tests", "bench", "learning")
sys.path.insert(0, SETS)
from probes import score  # noqa: E402

TARGETS = {"quick": 0.75, "balanced": 0.85, "thorough": 0.85}


def run(cmd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--presets", nargs="+", default=["quick", "balanced"])
    ap.add_argument("--sets", nargs="+", default=["facts-20", "facts-20-distinct", "facts-60", "facts-200", "style", "classify"])
    ap.add_argument("--general-limit", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--general", default=os.path.join(ROOT, "data", "eval", "general-knowledge.jsonl"))
    ap.add_argument("--train-args", default="",
                    help="more `temper-cli train` flags, as one string (a sweep point over the defaults)")
    ap.add_argument("--tag", default="", help="added to the run folders' names (with --train-args)")
    ap.add_argument("--seed", type=int, default=42, help="training seed (default 42)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for train and evaluate (default 1)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.general_limit:
        with open(args.general, encoding="utf-8") as f:
            lines = [line for line in f if line.strip()][:args.general_limit]
        args.general = os.path.join(args.work, "general-%d.jsonl" % args.general_limit)
        with open(args.general, "w", encoding="utf-8") as f:
            f.writelines(lines)
    model_tag = os.path.splitext(os.path.basename(args.model))[0]
    print("model %s" % os.path.basename(args.model))
    print("%-9s %-10s %6s %8s %8s %12s" % ("preset", "set", "probes", "before", "after", "general"))
    failed = False
    for preset in args.presets:
        totals = [0, 0, 0]
        for set_name in args.sets:
            run_dir = os.path.join(args.work, "%s-%s-%s%s%s" % (model_tag, preset, set_name,
                                                                "-" + args.tag if args.tag else "",
                                                                "-s%d" % args.seed if args.seed != 42 else ""))
            log = run_dir + ".log"
            probes = os.path.join(SETS, set_name + "-probes.jsonl")
            if not os.path.exists(os.path.join(run_dir, "adapter")):
                if run([args.cli, "train", "--model", args.model, "--data",
                        os.path.join(SETS, set_name + ".jsonl"), "--out", run_dir,
                        "--preset", preset, "--seed", str(args.seed), "--threads", str(args.threads)]
                       + args.train_args.split(), log) != 0:
                    print("%-9s %-10s training failed, see %s" % (preset, set_name, log))
                    failed = True
                    continue
            if not os.path.exists(os.path.join(run_dir, "evaluation.json")):
                if run([args.cli, "evaluate", run_dir, "--data", probes, "--general", args.general,
                        "--max-tokens", str(args.max_tokens), "--threads", str(args.threads)], log) != 0:
                    print("%-9s %-10s evaluation failed, see %s" % (preset, set_name, log))
                    failed = True
                    continue
            n, right, gen = score(run_dir, probes)
            en_right = right[1] - score.chinese[2]
            totals[0] += n
            totals[1] += right[0]
            totals[2] += right[1]
            print("%-9s %-10s %6d %8d %8d %5d → %-5d en %d/%d zh %d/%d" % (
                preset, set_name, n, right[0], right[1], gen[1], gen[2], en_right, n - score.chinese[0],
                score.chinese[2], score.chinese[0]), flush=True)
        if totals[0]:
            before, after = totals[1] / totals[0], totals[2] / totals[0]
            goal = TARGETS[preset]
            print("%-9s %-10s %6d %7.0f%% %7.0f%%   target: after ≥ %.0f %%, before ≤ 10 %%: %s"
                  % (preset, "all", totals[0], 100 * before, 100 * after, 100 * goal,
                     "met" if after >= goal and before <= 0.10 else "NOT met"), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

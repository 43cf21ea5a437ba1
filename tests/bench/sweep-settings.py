#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sweep of training settings on the held-out learning sets (issue 15 §1).

For each point (model, set, learning rate, epochs, rank, schedule) this
trains with `temper-cli train`, then asks the set's probe questions (the same
facts in other words, never trained on) with `temper-cli evaluate`, greedy,
and counts the answers that hold the expected phrase, before and after.
Each point appends one line to the CSV as soon as it is done, so a sweep
stopped half-way keeps what it measured; a point already in the CSV is not
run again.

    tests/bench/sweep-settings.py --cli build/app/cli/temper-cli \
        --csv build/sweep.csv --work build/sweep [--grid demo|gemma|NAME ...]
        [--point MODEL:SET:LR:EPOCHS:RANK:SCHEDULE[:BATCH[:ALPHA[:TARGETS[:LOSS[:WARMUP[:DROPOUT[:SEED[:REPLAY]]]]]]]] ...]
        [--general-limit N]

--point names one point by hand (MODEL is demo or gemma; BATCH defaults to
min(records, 10), ALPHA to 2 × RANK, TARGETS to all-linear, LOSS to answers
(the loss on the answers only; "all" trains on every token, --all-tokens),
WARMUP (steps) and DROPOUT to 0, SEED to 42 (the CLI's default), REPLAY (general
answers of the base model mixed in, `train --replay`) to 0; an empty field takes its default, so
demo:facts-20:3e-3:8:8:cosine::::::0.05 changes only the dropout;
--general-limit asks only the first N general questions, to save time.

Standard library only.  Slow on purpose: each point is a real training run.
"""
import argparse
import csv
import itertools
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETS = os.path.join(ROOT, "tests", "bench", "learning")
sys.path.insert(0, SETS)
from probes import score  # noqa: E402
DEMO = os.path.join(ROOT, "data", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
GEMMA = "/work/models/gemma-3-270m-q4_k_m.gguf"

# The grids: a coarse one on the demo model, and the informative corners of it
# on a larger model.  (set, lr, epochs, rank, schedule)
GRIDS = {
    "demo": [("facts-20", 3e-3, 8, 8, "constant"), ("facts-20", 1e-3, 8, 8, "constant"),
             ("facts-20", 3e-3, 4, 8, "constant"), ("style", 3e-3, 4, 8, "constant"),
             ("classify", 3e-3, 4, 8, "constant"), ("facts-20", 3e-3, 8, 8, "cosine"),
             ("facts-20", 3e-3, 8, 16, "constant"), ("facts-20", 3e-4, 8, 8, "constant"),
             ("facts-60", 3e-3, 6, 8, "constant")],
    "gemma": [("facts-20", 3e-3, 8, 8, "constant"), ("facts-20", 1e-3, 8, 8, "constant")],
    # The two grids interleaved by what they tell most, for a sweep that may
    # not finish: the demo model's corners first, then the larger model.
    "short": [],
}
GRIDS["short"] = ([("demo",) + GRIDS["demo"][0], ("gemma",) + GRIDS["gemma"][0]]
                  + [("demo",) + p for p in GRIDS["demo"][1:5]] + [("gemma",) + GRIDS["gemma"][1]]
                  + [("demo",) + p for p in GRIDS["demo"][5:]])

FIELDS = ["model", "set", "records", "lr", "epochs", "rank", "schedule", "batch", "alpha", "targets", "loss_on", "steps",
          "final_loss", "train_s", "probes", "base_right", "tuned_right", "zh_probes", "zh_tuned_right",
          "general_n", "general_base", "general_tuned", "warmup", "dropout", "seed", "replay"]


def run(cmd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def count_lines(path):
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--grid", nargs="+", default=["demo"])
    ap.add_argument("--general", default=os.path.join(ROOT, "data", "eval", "general-knowledge.jsonl"))
    ap.add_argument("--point", nargs="+", default=[])
    ap.add_argument("--general-limit", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=48)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.general_limit:
        with open(args.general, encoding="utf-8") as f:
            lines = [line for line in f if line.strip()][:args.general_limit]
        args.general = os.path.join(args.work, "general-%d.jsonl" % args.general_limit)
        with open(args.general, "w", encoding="utf-8") as f:
            f.writelines(lines)
    # Every record is a fact to learn: none held back for validation.
    config = os.path.join(args.work, "no-validation.json")
    with open(config, "w") as f:
        f.write('{"val_fraction": 0.0}\n')
    done = set()
    if os.path.exists(args.csv):
        with open(args.csv) as f:
            for row in csv.DictReader(line for line in f if not line.startswith("#")):
                done.add((row["model"], row["set"], float(row["lr"]), int(row["epochs"]), int(row["rank"]), row["schedule"],
                          int(row["batch"]), float(row["alpha"]), row["targets"], row["loss_on"],
                          int(row.get("warmup") or 0), float(row.get("dropout") or 0), int(row.get("seed") or 42),
                          int(row.get("replay") or 0)))
    else:
        with open(args.csv, "w", newline="") as f:
            f.write("# %s; %s, %d CPUs; %s\n" % (" ".join(sys.argv), platform.processor() or platform.machine(),
                                                  os.cpu_count(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
            csv.writer(f).writerow(FIELDS)
    points = []
    for grid in ([] if args.point else args.grid):
        points += GRIDS[grid] if grid == "short" else [(grid,) + p for p in GRIDS[grid]]
    for spec in args.point:
        f = spec.split(":")
        points.append((f[0], f[1], float(f[2]), int(f[3]), int(f[4]), f[5]) + tuple(f[6:]))
    for point in points:
        grid, set_name, lr, epochs, rank, schedule = point[:6]
        data = os.path.join(SETS, set_name + ".jsonl")
        probes = os.path.join(SETS, set_name + "-probes.jsonl")
        records = count_lines(data)
        extra = list(point[6:]) + [""] * 8
        batch = int(extra[0]) if extra[0] else min(records, 10)
        alpha = float(extra[1]) if extra[1] else 2.0 * rank
        targets = extra[2] or "all-linear"
        loss_on = extra[3] or "answers"
        warmup = int(extra[4]) if extra[4] else 0
        dropout = float(extra[5]) if extra[5] else 0.0
        seed = int(extra[6]) if extra[6] else 42
        replay = int(extra[7]) if extra[7] else 0
        model = GEMMA if grid == "gemma" else DEMO
        model_name = os.path.basename(model)
        if (model_name, set_name, lr, epochs, rank, schedule, batch, alpha, targets, loss_on, warmup, dropout, seed,
                replay) in done:
            continue
        tag = "%s-%s-lr%g-ep%d-r%d-%s-b%d-a%g-%s" % (grid, set_name, lr, epochs, rank, schedule, batch, alpha, targets)
        if loss_on != "answers":
            tag += "-loss-" + loss_on
        if warmup:
            tag += "-wu%d" % warmup
        if dropout:
            tag += "-do%g" % dropout
        if seed != 42:
            tag += "-seed%d" % seed
        if replay:
            tag += "-replay%d" % replay
        run_dir = os.path.join(args.work, tag)
        log = run_dir + ".log"
        t0 = time.time()
        if not os.path.exists(os.path.join(run_dir, "adapter")):
            code = run([args.cli, "train", "--model", model, "--data", data, "--out", run_dir, "--config", config,
                        "--targets", targets, "--rank", str(rank), "--alpha", "%g" % alpha,
                        "--dropout", "%g" % dropout, "--lr", str(lr), "--schedule", schedule, "--warmup", str(warmup),
                        "--epochs", str(epochs), "--batch", str(batch), "--max-length", "128",
                        "--eval-every", "0", "--checkpoint-every", "0", "--seed", str(seed), "--replay", str(replay)]
                       + (["--all-tokens"] if loss_on == "all" else []), log)
            if code != 0:
                print("train failed:", tag, "see", log, file=sys.stderr)
                continue
        train_s = time.time() - t0
        if not os.path.exists(os.path.join(run_dir, "evaluation.json")):
            if run([args.cli, "evaluate", run_dir, "--data", probes, "--general", args.general,
                    "--max-tokens", str(args.max_tokens)], log) != 0:
                print("evaluate failed:", tag, "see", log, file=sys.stderr)
                continue
        n, right, gen = score(run_dir, probes)
        steps, loss = 0, float("nan")
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            for line in f:
                m = json.loads(line)
                if "loss" in m and m.get("step") is not None:
                    steps, loss = m["step"], m["loss"]
        row = [model_name, set_name, records, lr, epochs, rank, schedule, batch, "%g" % alpha, targets, loss_on, steps, "%.4f" % loss,
               "%.0f" % train_s, n, right[0], right[1], score.chinese[0], score.chinese[2],
               gen[0], gen[1], gen[2], warmup, "%g" % dropout, seed, replay]
        with open(args.csv, "a", newline="") as f:
            csv.writer(f).writerow(row)
        print(",".join(str(x) for x in row), flush=True)


if __name__ == "__main__":
    main()

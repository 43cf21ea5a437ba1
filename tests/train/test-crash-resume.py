#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash consistency: training killed with SIGKILL at random moments, again
and again, then resumed, ends with the adapter an uninterrupted run makes,
byte for byte, and with one metrics line per step, each with the loss the
uninterrupted run had.

  test-crash-resume.py CLI MODEL DATA [--kills N] [--steps S] [--seed X]

Every other kill lands at any moment: while the model loads, while the run
folder is made, in a step; the others wait for a checkpoint or the final
adapter to start being written and land inside that write
(TEMPER_TEST_CHECKPOINT_PAUSE_MS holds each part of it open).  A run
killed before its settings.json was written is started again with the same
`train` command; any other is continued with `resume`.

Prints TAP.  The default is the short version make check runs; the long one
is e.g. `--kills 200 --steps 8` by hand.  Only the standard library."""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("cli")
parser.add_argument("model")
parser.add_argument("data")
parser.add_argument("--kills", type=int, default=3)
parser.add_argument("--steps", type=int, default=3)
parser.add_argument("--seed", type=int, default=None)
parser.add_argument("--pause-ms", type=int, default=150,
                    help="how long each part of a checkpoint write is held up")
args = parser.parse_args()

if not os.path.exists(args.model):
    print("1..0 # SKIP the model is not there (run build-aux/fetch-demo-model.sh)")
    sys.exit(0)

seed = args.seed if args.seed is not None else random.randrange(1 << 30)
rng = random.Random(seed)
print(f"# random seed {seed} (--seed {seed} repeats these kills)")
tmp = tempfile.mkdtemp(prefix="temper-crash-")
no_validation = os.path.join(tmp, "no-validation.json")
with open(no_validation, "w") as f:
    f.write('{"val_fraction": 0}')
n = 0
failed = False


def check(ok, what):
    global n, failed
    n += 1
    failed |= not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}")


def train_command(out):
    return [args.cli, "train", "--model", os.path.abspath(args.model),
            "--data", os.path.abspath(args.data), "--config", no_validation,
            "--out", out, "--max-steps", str(args.steps), "--checkpoint-every", "1",
            "--batch", "1", "--max-length", "64", "--rank", "2", "--targets", "q,v",
            "--dropout", "0.1", "--lr", "1e-3", "--warmup", "1", "--seed", "7",
            "--threads", "2", "-y"]


def command_for(out):
    if os.path.exists(os.path.join(out, "settings.json")):
        return [args.cli, "resume", out, "--threads", "2"]
    return train_command(out)


def adapter_bytes(run):
    found = {}
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        path = os.path.join(run, "adapter", name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                found[name] = f.read()
    return found


def losses(run):
    """(step, loss) of every line of metrics.jsonl; None for a bad line."""
    out = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f.read().split("\n")[:-1]:
            try:
                m = json.loads(line)
                out.append((m["step"], m["loss"]))
            except (ValueError, KeyError):
                out.append(None)
    return out


def in_checkpoint_write(run):
    """Whether a kill left a checkpoint or the adapter half written."""
    names = os.listdir(run) if os.path.isdir(run) else []
    checkpoints = os.path.join(run, "checkpoints")
    if os.path.isdir(checkpoints):
        names += os.listdir(checkpoints)
    return any(name.endswith(".partial") or name.endswith(".old") for name in names)


try:
    # The uninterrupted run, timed: the kills are spread over its length.
    reference = os.path.join(tmp, "reference")
    start = time.monotonic()
    env = dict(os.environ, TEMPER_TEST_CHECKPOINT_PAUSE_MS=str(args.pause_ms))
    done = subprocess.run(train_command(reference), env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    length = time.monotonic() - start
    check(done.returncode == 0 and adapter_bytes(reference),
          f"an uninterrupted run of {args.steps} steps finishes ({length:.1f} s)")
    if done.returncode != 0:
        print("# " + done.stderr.replace("\n", "\n# "))
        raise SystemExit
    want = adapter_bytes(reference)
    want_losses = losses(reference)

    crashed = os.path.join(tmp, "crashed")
    landed = partial = 0
    for kill in range(args.kills):
        proc = subprocess.Popen(command_for(crashed), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kill % 2 == 0:
            # Any moment of the run.
            time.sleep(rng.uniform(0.0, length))
        else:
            # A moment inside a checkpoint or adapter write: wait for one to
            # begin, then for a part of the time its pauses hold it open.
            deadline = time.monotonic() + length
            while (proc.poll() is None and not in_checkpoint_write(crashed) and
                   time.monotonic() < deadline):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 4 * args.pause_ms / 1000.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        proc.wait()
        if in_checkpoint_write(crashed):
            partial += 1
        # A round that finished before its kill: start a fresh run, so that
        # the next kills land in training again.
        if proc.returncode == 0:
            shutil.rmtree(crashed)
    print(f"# {landed} of {args.kills} kills landed, {partial} in the middle of writing "
          "a checkpoint or the adapter")

    final = subprocess.run(command_for(crashed), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    check(final.returncode == 0, "the killed run resumes to the end")
    if final.returncode != 0:
        print("# " + final.stderr.replace("\n", "\n# "))
    got = adapter_bytes(crashed)
    check(got == want and len(want) == 2,
          "its adapter equals the uninterrupted run's, byte for byte")
    got_losses = losses(crashed)
    check(got_losses == want_losses and [s for s, _ in got_losses] == list(range(1, args.steps + 1)),
          "metrics.jsonl: one whole line per step, with the uninterrupted run's losses")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print(f"1..{n}")
sys.exit(1 if failed else 0)

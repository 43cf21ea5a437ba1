#!/bin/sh
# SPDX-License-Identifier: MIT
# test-learning-small.sh CLI MODEL — the make-check version of the learning
# benchmark (tests/bench/learning-bench.py): train the demo model with the
# default settings of the quick preset (nothing chosen by hand) on six
# invented facts, three English and three Chinese, then ask each in other
# words.  The base model cannot know them; the tuned one must state at
# least four of the six.  Fixed seed; greedy answers.  For comparisons by
# hand, LEARNING_SMALL_SEED (default 42) and LEARNING_SMALL_ARGS (more train
# options, e.g. --exact) change the run; make check sets neither.
set -u
cli=$1
model=$2
here=$(cd "$(dirname "$0")" && pwd)
sets="$here/learning"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "1..3"
head -n 6 "$sets/facts-20.jsonl" > "$work/facts.jsonl"
head -n 6 "$sets/facts-20-probes.jsonl" > "$work/probes.jsonl"
# Two general questions keep the forgetting check short; the benchmark asks all of them.
head -n 2 "$here/../../data/eval/general-knowledge.jsonl" > "$work/general.jsonl"

if "$cli" train --model "$model" --data "$work/facts.jsonl" --out "$work/run" --preset quick \
     --seed "${LEARNING_SMALL_SEED:-42}" ${LEARNING_SMALL_ARGS:-} > "$work/train.log" 2>&1 &&
   grep -q "Learning rate" "$work/train.log"; then
  echo "ok 1 - trained with the automatic settings"
else
  echo "not ok 1 - trained with the automatic settings"
  sed 's/^/# /' "$work/train.log"
  exit 1
fi
if ! "$cli" evaluate "$work/run" --data "$work/probes.jsonl" --general "$work/general.jsonl" \
       --max-tokens 24 > "$work/eval.log" 2>&1; then
  echo "not ok 2 - evaluated"
  sed 's/^/# /' "$work/eval.log"
  exit 1
fi
echo "ok 2 - evaluated"
set -- $(python3 "$sets/probes.py" "$work/run" "$work/probes.jsonl")
n=$1 before=$2 after=$3
echo "# probes answered right: base $before of $n, tuned $after of $n"
if [ "$n" -eq 6 ] && [ "$before" -le 1 ] && [ "$after" -ge 4 ]; then
  echo "ok 3 - the tuned model states the facts it was taught, asked in other words"
else
  echo "not ok 3 - the tuned model states the facts it was taught, asked in other words"
  python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))
for s in ev["sets"]:
    for r in s["records"]:
        print("# %s | expect %s | base: %s | tuned: %s" % (r["question"], r["expect"], r["base"]["answer"], r["tuned"]["answer"]))
' "$work/run/evaluation.json"
  exit 1
fi

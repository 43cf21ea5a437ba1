#!/bin/sh
# SPDX-License-Identifier: MIT
# test-learning-small.sh CLI MODEL — the make-check version of the learning
# benchmark (tests/bench/learning-bench.py): train the demo model with the
# default settings of the quick preset (nothing chosen by hand) on six
# invented facts, three English and three Chinese, then ask each in other
# words.  The base model cannot know them (at most one right by chance per
# run).  Greedy answers.
#
# It trains twice, at seeds 42 and 7, and the tuned models must state at
# least 6 of the 12 answers over both runs.  One run at one seed with a bar
# of 4 of 6 sat on one probe (at seed 42 the fourth right answer is a
# garbled Chinese one that happens to hold the phrase): a change whose
# training loss matched to the third decimal at every step moved it from 4
# to 3.  Over two seeds the bar leaves a margin
# of two probes below what main and the fused LoRA products measured (see
# tests/bench/learning/sweep-results.md, "Stop 20"); an untrained model
# (LEARNING_SMALL_ARGS="--lr=1e-9 --max-steps=1") answers 0 of 12.
#
# For comparisons by hand, LEARNING_SMALL_SEED (one seed or a
# space-separated list; default "42 7") and LEARNING_SMALL_ARGS (more train
# options, e.g. --exact or --threads=1) change the runs; the bar is half the
# probes over the seeds given.  make check sets neither.
set -u
cli=$1
model=$2
here=$(cd "$(dirname "$0")" && pwd)
sets="$here/learning"
seeds=${LEARNING_SMALL_SEED:-42 7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

runs=$(echo $seeds | wc -w)
echo "1..$((2 * runs + 1))"
head -n 6 "$sets/facts-20.jsonl" > "$work/facts.jsonl"
head -n 6 "$sets/facts-20-probes.jsonl" > "$work/probes.jsonl"
# Two general questions keep the forgetting check short; the benchmark asks all of them.
head -n 2 "$here/../../data/eval/general-knowledge.jsonl" > "$work/general.jsonl"

i=0 total=0 right=0 base_ok=1 counts=""
for seed in $seeds; do
  run="$work/run-$seed"
  if "$cli" train --model "$model" --data "$work/facts.jsonl" --out "$run" --preset quick \
       --seed "$seed" ${LEARNING_SMALL_ARGS:-} > "$work/train.log" 2>&1 &&
     grep -q "Learning rate" "$work/train.log"; then
    echo "ok $((i + 1)) - seed $seed: trained with the automatic settings"
  else
    echo "not ok $((i + 1)) - seed $seed: trained with the automatic settings"
    sed 's/^/# /' "$work/train.log"
    exit 1
  fi
  if ! "$cli" evaluate "$run" --data "$work/probes.jsonl" --general "$work/general.jsonl" \
         --max-tokens 24 > "$work/eval.log" 2>&1; then
    echo "not ok $((i + 2)) - seed $seed: evaluated"
    sed 's/^/# /' "$work/eval.log"
    exit 1
  fi
  echo "ok $((i + 2)) - seed $seed: evaluated"
  set -- $(python3 "$sets/probes.py" "$run" "$work/probes.jsonl")
  n=$1 before=$2 after=$3
  echo "# seed $seed: probes answered right: base $before of $n, tuned $after of $n"
  [ "$n" -eq 6 ] && [ "$before" -le 1 ] || base_ok=0
  total=$((total + n)) right=$((right + after)) counts="$counts $after"
  i=$((i + 2))
done

# Half, rounded up: 6 of 12 for the two seeds of make check.
bar=$(((total + 1) / 2))
echo "# tuned over all seeds: $right of $total (per seed:$counts), needs $bar"
if [ "$base_ok" -eq 1 ] && [ "$right" -ge "$bar" ]; then
  echo "ok $((i + 1)) - the tuned models state the facts they were taught, asked in other words"
else
  echo "not ok $((i + 1)) - the tuned models state the facts they were taught, asked in other words"
  for seed in $seeds; do
    python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))
for s in ev["sets"]:
    for r in s["records"]:
        print("# seed %s: %s | expect %s | base: %s | tuned: %s" % (sys.argv[2], r["question"], r["expect"], r["base"]["answer"], r["tuned"]["answer"]))
' "$work/run-$seed/evaluation.json" "$seed"
  done
  exit 1
fi

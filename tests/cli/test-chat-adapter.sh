#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: `temper-cli chat --adapter` answers with a run's adapter.  A short,
# strong training run on the demo model moves the greedy answer away from the
# base model's; naming the run folder or its PEFT adapter folder gives the
# same answer; names that are neither fail with exit 1 and one message.
set -u
cli=$1
model=$2
data=$3
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

if [ ! -f "$model" ]; then
  echo "1..0 # SKIP the demo model is not there (run build-aux/fetch-demo-model.sh)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-chat-adapter.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
question="Who makes the Lumora K7 kettle?"

"$cli" train --model "$model" --data "$data" --out "$tmp/run" --max-steps 6 --lr 3e-3 \
  --warmup 0 --schedule constant --batch 2 --max-length 96 --dropout 0 --threads 2 \
  --eval-every 1000 --checkpoint-every 1000 -y >"$tmp/train.log" 2>&1; rc=$?
check "a short training run finishes" '[ $rc = 0 ] && [ -d "$tmp/run/adapter" ]'

chat() { "$cli" chat "$model" -p "$question" --temperature 0 --max-tokens 24 --threads 2 "$@" 2>/dev/null; }
base=$(chat); rc_base=$?
tuned=$(chat --adapter "$tmp/run"); rc_run=$?
peft=$(chat --adapter "$tmp/run/adapter"); rc_peft=$?
check "base and tuned answers are produced" '[ $rc_base = 0 ] && [ $rc_run = 0 ] && [ -n "$base" ] && [ -n "$tuned" ]'
check "the adapter changes the greedy answer" '[ "$base" != "$tuned" ]'
check "the run folder and its PEFT adapter folder give the same answer" '[ $rc_peft = 0 ] && [ "$tuned" = "$peft" ]'

err=$("$cli" chat "$model" -p hi --adapter "$tmp" 2>&1 >/dev/null); rc=$?
check "a folder that is neither a run nor an adapter fails with one message" \
  '[ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "neither" <<<"$err"'

echo "1..$n"
exit $fail

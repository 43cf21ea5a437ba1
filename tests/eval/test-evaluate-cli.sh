#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: temper-cli evaluate — on a run trained for a few steps on the tiny
# Llama model: the summary table, the files written into the run folder,
# and the exit status for bad command lines.
set -u
cli=$1
src=${TEMPER_SOURCE_DIR:?}
model=$src/tests/fixtures/train/tiny-llama
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

printf '%s\n' \
  '{"prompt": "hello there", "response": "general kenobi"}' \
  '{"prompt": "good morning", "response": "good morning to you"}' \
  '{"prompt": "how are you", "response": "very well"}' \
  '{"prompt": "what is this", "response": "a small test"}' >"$tmp/data.jsonl"
printf '%s\n' '{"prompt": "hello", "expect": "hello|kenobi"}' \
  '{"prompt": "你好", "expect": "你好"}' >"$tmp/general.jsonl"

"$cli" train --model "$model" --data "$tmp/data.jsonl" --val-data "$tmp/data.jsonl" \
  --out "$tmp/run" --max-steps 3 --batch 2 --warmup 0 --threads 1 -y >/dev/null 2>&1
check "a short training run to evaluate" '[ -d "$tmp/run/adapter" ]'

out=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
      --max-tokens 4 --threads 1 2>/dev/null); rc=$?
check "evaluate: exit 0" '[ $rc = 0 ]'
check "a table per dataset, with perplexity and chrF" \
  'grep -q "^the validation split (4 records" <<<"$out" && grep -q "^data.jsonl (4 records" <<<"$out" &&
   grep -q "Perplexity" <<<"$out" && grep -q "chrF" <<<"$out"'
check "the forgetting check" 'grep -q "General questions right: base [0-9] of 2, tuned [0-9] of 2" <<<"$out"'
check "evaluation.json holds both sets" \
  '[ "$(grep -c "\"n_with_reference\"" "$tmp/run/evaluation.json")" = 2 ]'
check "evaluation.html is UTF-8 HTML with the Chinese question" \
  'grep -q "<meta charset=\"utf-8\">" "$tmp/run/evaluation.html" && grep -q "你好" "$tmp/run/evaluation.html"'

# The base model's answers kept for the next evaluation of the same base,
# in the cache folder; a changed question is asked again.
export XDG_CACHE_HOME=$tmp/cache
unset TEMPER_NO_ANSWER_CACHE
first=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
        --max-tokens 4 --threads 1 2>/dev/null)
cp "$tmp/run/evaluation.json" "$tmp/first.json"
second=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
         --max-tokens 4 --threads 1 2>/dev/null); rc=$?
check "first evaluation with the cache: only the 4 records asked twice (validation split = data) kept" \
  'grep -q "not asked 4 questions again" <<<"$first" && [ "$(ls "$tmp/cache/temper/base-answers" | wc -l)" = 1 ]'
check "second evaluation: 10 base answers kept (4 + 4 records, 2 general), the same report" \
  '[ $rc = 0 ] && grep -q "not asked 10 questions again: its answers were kept" <<<"$second" &&
   cmp -s "$tmp/first.json" "$tmp/run/evaluation.json"'
printf '%s\n' '{"prompt": "hello!", "expect": "hello|kenobi"}' \
  '{"prompt": "你好", "expect": "你好"}' >"$tmp/general2.jsonl"
out=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general2.jsonl" \
      --max-tokens 4 --threads 1 2>/dev/null)
check "a changed general question is asked again (9 kept)" 'grep -q "not asked 9 questions again" <<<"$out"'
out=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
      --max-tokens 5 --threads 1 2>/dev/null)
check "another answer length asks everything again (4 asked twice in the run)" \
  'grep -q "not asked 4 questions again" <<<"$out"'
out=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
      --max-tokens 4 --threads 1 --fresh 2>/dev/null)
check "--fresh asks everything again" '! grep -q "questions again" <<<"$out"'
out=$("$cli" evaluate "$tmp/run" --data "$tmp/data.jsonl" --general "$tmp/general.jsonl" \
      --max-tokens 4 --threads 1 2>/dev/null)
check "and keeps what it was told for the next time" 'grep -q "not asked 10 questions again" <<<"$out"'
export TEMPER_NO_ANSWER_CACHE=1

err=$("$cli" evaluate 2>&1 >/dev/null); rc=$?
check "no run folder: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'
err=$("$cli" evaluate "$tmp/nothing-here" 2>&1 >/dev/null); rc=$?
check "a folder that is no run: exit 1" '[ $rc = 1 ] && grep -q "settings.json" <<<"$err"'

err=$("$cli" evaluate "$tmp/run" --backend nonsense 2>&1 >/dev/null); rc=$?
check "an unknown backend: exit 2, naming the choices" '[ $rc = 2 ] && grep -q "vulkan" <<<"$err"'
out=$("$cli" evaluate "$tmp/run" --general "$tmp/general.jsonl" --max-tokens 2 --threads 1 \
      --backend cpu 2>&1 >/dev/null); rc=$?
check "progress is streamed, stage by stage" \
  '[ $rc = 0 ] && grep -q "^Perplexity on the validation split" <<<"$out" &&
   grep -q "^Asking the general questions" <<<"$out"'

echo "1..$n"
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: temper-cli train --base-weights — documented in --help, an unknown
# value is a usage error (exit 2, one line), nf4 trains the tiny Hugging Face
# model and is kept in the run, an already quantized GGUF is refused with one
# clear line and no run folder, and an F16 GGUF is accepted.
set -u
cli=$1
src=${TEMPER_SOURCE_DIR:?}
model=$src/tests/fixtures/train/tiny-llama
data=$src/tests/fixtures/datasets/alpaca.jsonl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-nf4-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

out=$("$cli" train --help); rc=$?
check "train --help documents --base-weights nf4" \
  '[ $rc = 0 ] && grep -q -- "--base-weights=W" <<<"$out" && grep -q "nf4" <<<"$out" && grep -q "original weights" <<<"$out"'

err=$("$cli" train --model "$model" --data "$data" --base-weights int4 --out "$tmp/bad" 2>&1 >/dev/null); rc=$?
check "unknown value: exit 2, one line naming it" \
  '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "int4" <<<"$err"'
check "unknown value: no run folder" '[ ! -e "$tmp/bad" ]'

out=$("$cli" train --model "$model" --data "$data" --base-weights nf4 --max-steps 2 --targets all-linear \
      --threads 1 --out "$tmp/run" 2>&1); rc=$?
check "nf4 on the Hugging Face model trains" '[ $rc = 0 ] && [ -d "$tmp/run/adapter" ]'
check "the output reports the base weights' memory" 'grep -q "^Base weights NF4: .* as stored" <<<"$out"'
check "the run's settings keep nf4" 'grep -q "\"base_weights\" *: *\"nf4\"" "$tmp/run/settings.json"'
check "train.log reports memory before and after" \
  'grep -q "Base weights NF4: linear layers .* as stored" "$tmp/run/train.log"'

out=$("$cli" chat "$model" --adapter "$tmp/run" -p "hi" --max-tokens 3 2>/dev/null); rc=$?
check "chat --adapter RUN answers on the NF4 base" '[ $rc = 0 ]'

"$cli" export "$tmp/run" --format gguf --quant q8_0 --no-check -o "$tmp/q8.gguf" >/dev/null 2>&1
"$cli" export "$tmp/run" --format gguf --quant f16 --no-check -o "$tmp/f16.gguf" >/dev/null 2>&1
check "exports of the run exist (merged into the original weights)" '[ -s "$tmp/q8.gguf" ] && [ -s "$tmp/f16.gguf" ]'

err=$("$cli" train --model "$tmp/q8.gguf" --data "$data" --base-weights nf4 --max-steps 1 --out "$tmp/q8run" 2>&1 >/dev/null); rc=$?
check "quantized GGUF: refused with one line" \
  '[ $rc != 0 ] && [ $rc != 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "already quantized" <<<"$err" && grep -q "Q8_0" <<<"$err"'
check "quantized GGUF: no run folder" '[ ! -e "$tmp/q8run" ]'

"$cli" train --model "$tmp/f16.gguf" --data "$data" --base-weights nf4 --max-steps 1 --threads 1 \
  --out "$tmp/f16run" >/dev/null 2>&1; rc=$?
check "F16 GGUF: nf4 accepted" '[ $rc = 0 ] && grep -q "Base weights NF4" "$tmp/f16run/train.log"'

echo "1..$n"
exit $fail

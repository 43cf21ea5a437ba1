#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: `temper-cli export --format gguf` from a Hugging Face base folder (the
# tiny Llama fixture): a few training steps, then merged GGUFs in F16 and
# Q4_K_M with a Modelfile; the merged file loads, tokenizes a multilingual
# text exactly as the folder's tokenizer.json does, keeps the chat template
# (the round-trip check passes) and is smaller when quantized.
set -u
cli=$1
base=$2
data=$3
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir "$out"

"$cli" train --model "$base" --data "$data" --out "$tmp/run" --max-steps 3 --lr 1e-2 \
  --warmup 0 --schedule constant --batch 2 --max-length 64 --dropout 0 --threads 2 \
  --targets all-linear --rank 4 --eval-every 1000 --checkpoint-every 1000 -y \
  >"$tmp/train.log" 2>&1; rc=$?
check "a short training run on the Hugging Face folder finishes" '[ $rc = 0 ] && [ -d "$tmp/run/adapter" ]'

report=$("$cli" export "$tmp/run" --format gguf --quant f16 --out "$out/tiny-f16.gguf" 2>"$tmp/err"); rc=$?
check "export --format gguf --quant f16 from a Hugging Face base writes the model and a Modelfile" \
  '[ $rc = 0 ] && [ -s "$out/tiny-f16.gguf" ] && [ -s "$out/tiny-f16.Modelfile" ]'
check "its chat template round-trip check passes" 'grep -q "^Chat template check: " <<<"$report"'
check "the Modelfile names the file and the end-of-turn stop token" \
  'grep -qx "FROM ./tiny-f16.gguf" "$out/tiny-f16.Modelfile" && grep -qx "PARAMETER stop \"<|im_end|>\"" "$out/tiny-f16.Modelfile"'

text='Grüße, Привет, 你好 and 12345 🚀  <|im_start|>user'
want=$("$cli" tokenize --json "$base" "$text" 2>&1)
got=$("$cli" tokenize --json "$out/tiny-f16.gguf" "$text" 2>&1); rc=$?
check "the merged GGUF tokenizes a multilingual text as tokenizer.json does" \
  '[ $rc = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ]'

info=$("$cli" info "$out/tiny-f16.gguf" 2>&1); rc=$?
check "temper-cli info reads it as a llama GGUF" '[ $rc = 0 ] && grep -qi "llama" <<<"$info"'

"$cli" export "$tmp/run" --format gguf --quant q4_k_m --no-check --out "$out/tiny-q4_k_m.gguf" \
  >/dev/null 2>"$tmp/err"; rc=$?
check "export --quant q4_k_m writes a smaller file" \
  '[ $rc = 0 ] && [ "$(stat -c %s "$out/tiny-q4_k_m.gguf")" -lt "$(stat -c %s "$out/tiny-f16.gguf")" ]'
answer=$("$cli" chat "$out/tiny-q4_k_m.gguf" -p "Hi" --temperature 0 --max-tokens 4 --threads 2 2>"$tmp/err"); rc=$?
check "the Q4_K_M model loads and answers" '[ $rc = 0 ]'

leftovers=$(find "$out" -name ".*" | wc -l)
check "no temporary files are left behind" '[ "$leftovers" = 0 ]'

echo "1..$n"
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: for a mixture-of-experts model (the tiny Qwen3-MoE and Mixtral of
# tests/fixtures/families), info shows the experts and says what LoRA
# trains; train says it before it starts, and the adapter it writes holds
# attention matrices only, even when all linear layers are asked for; a
# merged export is written in the base's own format and in the other one
# (a GGUF with the experts stacked as llama.cpp's converter writes them).
set -u
cli=$1
families=$2
data=$3
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-moe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

out=$("$cli" info "$families/mixtral.gguf" 2>&1); rc=$?
check "info shows Mixtral's experts" '[ $rc = 0 ] && grep -q "^Experts: *4, 2 used per token, each 48 wide$" <<<"$out"'
check "info says what LoRA trains" 'grep -q "^Training: *Mixtral is a mixture-of-experts model: LoRA trains its attention layers only" <<<"$out"'

out=$("$cli" train --model "$families/qwen3moe" --data "$data" --targets all-linear --rank 2 --max-steps 1 \
      --max-length 64 --out "$tmp/run" -y 2>&1); rc=$?
check "train runs and says the experts stay as they are" \
  '[ $rc = 0 ] && grep -q "Qwen3-MoE is a mixture-of-experts model: LoRA trains its attention layers only (q, k, v, o); the experts stay as they are." <<<"$out"'
check "the adapter adapts q, k, v and o only" \
  'grep -q "\"q_proj\"" "$tmp/run/adapter/adapter_config.json" && ! grep -q "gate_proj\|down_proj\|up_proj" "$tmp/run/adapter/adapter_config.json"'

out=$("$cli" export "$tmp/run" --format hf --dtype f32 -o "$tmp/merged" 2>&1); rc=$?
check "a merged Hugging Face folder of the Hugging Face base is written" \
  '[ $rc = 0 ] && [ -f "$tmp/merged/model.safetensors" ] && [ -f "$tmp/merged/config.json" ]'
out=$("$cli" export "$tmp/run" --format gguf -o "$tmp/merged.gguf" 2>&1); rc=$?
check "a merged GGUF of the Hugging Face Qwen3-MoE is written" '[ $rc = 0 ] && [ -f "$tmp/merged.gguf" ]'
out=$("$cli" info "$tmp/merged.gguf" 2>&1); rc=$?
check "the merged GGUF opens as a Qwen3-MoE with its experts" \
  '[ $rc = 0 ] && grep -q "^Experts: *4, 2 used per token, each 24 wide$" <<<"$out"'
out=$("$cli" export "$tmp/run" --format peft -o "$tmp/peft" 2>&1); rc=$?
check "the PEFT export is written" '[ $rc = 0 ] && [ -f "$tmp/peft/adapter_model.safetensors" ]'

echo "1..$n"
exit $fail

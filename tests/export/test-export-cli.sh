#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: `temper-cli export` on the demo model, end to end.  A short training
# run's adapter is exported in every format; the exported
# PEFT folder and GGUF adapter answer greedily as the run does, the merged
# models load and answer with the adapter's changes; the Modelfile names the file,
# its chat template and stop token; refused exports fail with one line and
# leave nothing behind.
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir "$out"
question="Who makes the Lumora K7 kettle?"

"$cli" train --model "$model" --data "$data" --out "$tmp/run" --max-steps 6 --lr 3e-3 \
  --warmup 0 --schedule constant --batch 2 --max-length 96 --dropout 0 --threads 2 \
  --targets all-linear --rank 4 --eval-every 1000 --checkpoint-every 1000 -y \
  >"$tmp/train.log" 2>&1; rc=$?
check "a short training run finishes" '[ $rc = 0 ] && [ -d "$tmp/run/adapter" ]'

export_as() { "$cli" export "$tmp/run" --out "$@" 2>"$tmp/export.err"; }

export_as "$out/adapter.gguf" --format gguf-adapter >/dev/null; rc=$?
check "export --format gguf-adapter writes a file" '[ $rc = 0 ] && [ -s "$out/adapter.gguf" ]'

report=$(export_as "$out/peft" --format peft); rc=$?
check "export --format peft writes adapter_config.json and adapter_model.safetensors" \
  '[ $rc = 0 ] && [ -s "$out/peft/adapter_config.json" ] && [ -s "$out/peft/adapter_model.safetensors" ]'
# The demo GGUF does not name the repository it came from: the base is left
# null rather than its display name, and the CLI and README say so.
check "the PEFT export says which base it needs, in its output and README.md" \
  'grep -q "It needs the Hugging Face model that" <<<"$report" &&
   grep -q "base_model_name_or_path" "$out/peft/README.md" &&
   grep -q "\"base_model_name_or_path\" *: *null" "$out/peft/adapter_config.json"'

report=$(export_as "$out/tuned-f16.gguf" --format gguf --quant f16 --name pirate); rc=$?
check "export --format gguf --quant f16 writes the model and a Modelfile" \
  '[ $rc = 0 ] && [ -s "$out/tuned-f16.gguf" ] && [ -s "$out/tuned-f16.Modelfile" ]'
check "it prints the one command that imports it into Ollama" \
  'grep -qF "ollama create '"'"'pirate'"'"' -f '"'"'$out/tuned-f16.Modelfile'"'"'" <<<"$report"'
check "its chat template round-trip check passes" 'grep -q "^Chat template check: " <<<"$report"'
modelfile=$(cat "$out/tuned-f16.Modelfile" 2>/dev/null)
check "the Modelfile names the file, a ChatML template and its stop token" \
  'grep -qx "FROM ./tuned-f16.gguf" <<<"$modelfile" &&
   grep -q "^TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>" <<<"$modelfile" &&
   grep -qx "PARAMETER stop \"<|im_end|>\"" <<<"$modelfile"'

export_as "$out/tuned-q8_0.gguf" --format gguf --quant q8_0 --no-check >/dev/null; rc=$?
check "export --format gguf --quant q8_0 writes a smaller file" \
  '[ $rc = 0 ] && [ "$(stat -c %s "$out/tuned-q8_0.gguf")" -lt "$(stat -c %s "$out/tuned-f16.gguf")" ]'
check "a second quantization in the same folder gets its own Modelfile and leaves the first as it was" \
  'grep -qx "FROM ./tuned-q8_0.gguf" "$out/tuned-q8_0.Modelfile" &&
   [ "$(cat "$out/tuned-f16.Modelfile")" = "$modelfile" ]'

report=$(export_as "$out/hf" --format hf); rc=$?
check "export --format hf from the GGUF base writes weights, config and tokenizer" \
  '[ $rc = 0 ] && [ -s "$out/hf/model.safetensors" ] && [ -s "$out/hf/config.json" ] &&
   [ -s "$out/hf/tokenizer.json" ] && grep -q "chat_template" "$out/hf/tokenizer_config.json"'
check "its chat template round-trip check passes" 'grep -q "^Chat template check: " <<<"$report"'

export_as "$tmp/no/such/folder/x.gguf" --format gguf-adapter >/dev/null; rc=$?
check "a destination folder that does not exist is refused in one line" \
  '[ $rc = 1 ] && [ "$(wc -l <"$tmp/export.err")" = 1 ] && grep -q "does not exist" "$tmp/export.err"'

leftovers=$(find "$out" -name ".*" ! -name .temper-export | wc -l)
check "no temporary files are left behind" '[ "$leftovers" = 0 ]'

chat() { "$cli" chat "$@" -p "$question" --temperature 0 --max-tokens 24 --threads 2 2>/dev/null; }
base=$(chat "$model")
tuned=$(chat "$model" --adapter "$tmp/run"); rc_tuned=$?
merged=$(chat "$out/tuned-f16.gguf"); rc_merged=$?
peft=$(chat "$model" --adapter "$out/peft"); rc_peft=$?
lora=$(chat "$model" --adapter "$out/adapter.gguf"); rc_lora=$?
q8=$(chat "$out/tuned-q8_0.gguf"); rc_q8=$?
hf=$(chat "$out/hf"); rc_hf=$?
check "the adapter changes the greedy answer" '[ $rc_tuned = 0 ] && [ -n "$tuned" ] && [ "$base" != "$tuned" ]'
# Chat rounds activations to 8 bits against the demo model's 4-bit weights
# but not against F16 ones, so near-ties may go either way: equal greedy
# continuations in fp32 are test-export's to prove.
check "the merged F16 model answers with the adapter, not as the base model" \
  '[ $rc_merged = 0 ] && [ -n "$merged" ] && [ "$merged" != "$base" ]'
check "the exported PEFT folder answers as the run" '[ $rc_peft = 0 ] && [ "$peft" = "$tuned" ]'
check "the exported GGUF adapter answers as the run" '[ $rc_lora = 0 ] && [ "$lora" = "$tuned" ]'
check "the merged Q8_0 model loads and answers" '[ $rc_q8 = 0 ] && [ -n "$q8" ]'
check "the merged folder from the GGUF base answers with the adapter, not as the base model" \
  '[ $rc_hf = 0 ] && [ -n "$hf" ] && [ "$hf" != "$base" ]'

echo "1..$n"
exit $fail

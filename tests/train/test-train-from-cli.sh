#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: temper-cli train reads a CSV with chosen columns (the run keeps it as
# the JSONL it was read as), --from continues from a run's adapter or a PEFT
# folder with its rank (also PEFT's own adapter on Phi-3's fused matrices,
# and llama.cpp's GGUF LoRA of it), several --data files mix by their
# shares, and what cannot work is refused with a sentence; --dry-run stops
# after printing the time the run would take.
set -u
cli=$1
src=${TEMPER_SOURCE_DIR:?}
model=$src/tests/fixtures/train/tiny-llama
peft=$src/tests/fixtures/train/tiny-llama-adapter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

{
  echo 'nr,frage,antwort'
  for i in 1 2 3 4 5 6; do echo "$i,\"Question $i, please\",Answer number $i"; done
} >"$tmp/facts.csv"
cp -p "$tmp/facts.csv" "$tmp/facts.orig"

out=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column frage --answer-column 3 \
      --max-steps 2 --rank 2 --targets q,v --out "$tmp/a" 2>&1); rc=$?
check "a CSV with chosen columns trains" '[ $rc = 0 ] && [ -d "$tmp/a/adapter" ]'
check "the run's snapshot is the JSONL it was read as" \
  'ls "$tmp/a/dataset/" | grep -q "facts.jsonl" && grep -q "\"content\" : \"Question 3, please\"\|\"content\":\"Question 3, please\"" "$tmp/a/dataset/"*.jsonl'
check "the CSV itself is unchanged" 'cmp -s "$tmp/facts.csv" "$tmp/facts.orig"'

out=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column frage --answer-column antwort \
      --from "$tmp/a" --max-steps 1 --out "$tmp/b" 2>&1); rc=$?
check "--from a run continues from its adapter" \
  '[ $rc = 0 ] && [ -f "$tmp/b/start-adapter/from.json" ] && grep -q "Starting from the adapter in .* (rank 2," <<<"$out"'
check "the continued run records the adapter's rank and targets" \
  'grep -q "\"rank\" : 2" "$tmp/b/settings.json"'

out=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column 2 --answer-column 3 \
      --from "$peft" --max-steps 1 --out "$tmp/c" 2>&1); rc=$?
check "--from a PEFT folder" '[ $rc = 0 ] && [ -f "$tmp/c/start-adapter/adapter_config.json" ]'

# PEFT's own adapter on Phi-3's fused qkv_proj (rank 6 by rank_pattern) and
# gate_up_proj: the run continues from it at the largest module's rank.
out=$("$cli" train --model "$src/tests/fixtures/families/phi3" --data "$tmp/facts.csv" --question-column 2 \
      --answer-column 3 --from "$src/tests/fixtures/import/phi3" --max-steps 1 --out "$tmp/f" 2>&1); rc=$?
check "--from a PEFT adapter on fused matrices (Phi-3)" \
  '[ $rc = 0 ] && grep -q "Starting from the adapter in .* (rank 6, alpha 12)" <<<"$out" && [ -d "$tmp/f/adapter" ]'
# The same adapter as llama.cpp's convert_lora_to_gguf.py wrote it (attn_qkv, fused ffn_up).
out=$("$cli" train --model "$src/tests/fixtures/families/phi3" --data "$tmp/facts.csv" --question-column 2 \
      --answer-column 3 --from "$src/tests/fixtures/import/phi3.gguf" --max-steps 1 --out "$tmp/g" 2>&1); rc=$?
check "--from a GGUF LoRA file (llama.cpp's, fused Phi-3 matrices)" \
  '[ $rc = 0 ] && grep -q "Starting from the adapter in .* (rank 6, alpha 12)" <<<"$out" && grep -q "phi3.gguf" "$tmp/g/start-adapter/from.json"'

err=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column 2 --answer-column 3 \
      --from "$tmp/a" --rank 8 --out "$tmp/d" 2>&1 >/dev/null); rc=$?
check "--from with --rank: exit 2" '[ $rc = 2 ] && [ ! -e "$tmp/d" ]'
err=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column 2 --answer-column 3 \
      --from "$tmp" --out "$tmp/e" 2>&1 >/dev/null); rc=$?
check "--from a folder that is no run nor adapter: exit 1, said" \
  '[ $rc = 1 ] && grep -q "neither a run folder nor an adapter folder" <<<"$err" && [ ! -e "$tmp/e" ]'

for i in 1 2 3 4 5 6 7 8; do echo "{\"prompt\": \"Other question $i\", \"response\": \"Other answer $i\"}"; done >"$tmp/other.jsonl"
out=$("$cli" train --model "$model" --data "$tmp/facts.csv" --data "$tmp/other.jsonl" --mix 0.75,0.25 \
      --question-column 2 --answer-column 3 --max-steps 1 --rank 2 --targets q,v --out "$tmp/m" 2>&1); rc=$?
check "two datasets mixed 3:1" '[ $rc = 0 ] && grep -q "Mixing 8 records" <<<"$out" && [ "$(wc -l <"$tmp/m/dataset/mix.jsonl")" = 8 ] && [ "$(grep -c "Other question" "$tmp/m/dataset/mix.jsonl")" = 2 ]'
check "the run keeps both files and the shares" \
  '[ -f "$tmp/m/dataset/sources/1-facts.csv" ] && [ -f "$tmp/m/dataset/sources/2-other.jsonl" ] && grep -q "\"share\" : 0.75" "$tmp/m/dataset/mix.json"'
out=$("$cli" train --model "$model" --data "$tmp/other.jsonl:1" --data "$tmp/facts.csv:3" \
      --question-column 2 --answer-column 3 --max-steps 1 --rank 2 --targets q,v --out "$tmp/m2" 2>&1); rc=$?
check "shares as FILE:SHARE" '[ $rc = 0 ] && [ "$(grep -c "Other question" "$tmp/m2/dataset/mix.jsonl")" = 2 ]'
err=$("$cli" train --model "$model" --data "$tmp/other.jsonl" --data "$tmp/facts.csv" --mix 1 --out "$tmp/m3" 2>&1 >/dev/null); rc=$?
check "--mix with the wrong number of shares: exit 2" '[ $rc = 2 ] && [ ! -e "$tmp/m3" ]'

# --dry-run: the data checked, the time on this processor printed (its
# rates measured into the cache first), no run folder.
out=$(XDG_CACHE_HOME="$tmp/cache" "$cli" train --model "$model" --data "$tmp/other.jsonl" --max-steps 3 \
      --rank 2 --dry-run --out "$tmp/dry" 2>&1); rc=$?
check "--dry-run prints the time and makes no run" \
  '[ $rc = 0 ] && grep -q "Time on this processor: 3 steps" <<<"$out" && [ ! -e "$tmp/dry" ] && [ -s "$tmp/cache/temper/op-rates.ini" ]'
out=$(XDG_CACHE_HOME="$tmp/cache" "$cli" train --model "$model" --data "$tmp/other.jsonl" --max-steps 3 \
      --rank 2 --dry-run --out "$tmp/dry" 2>&1); rc=$?
check "a second --dry-run uses the kept rates" \
  '[ $rc = 0 ] && grep -q "Time on this processor" <<<"$out" && ! grep -q "Measuring how fast" <<<"$out"'

echo "1..$n"
exit $fail

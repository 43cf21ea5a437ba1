#!/usr/bin/env bash
# TAP: temper-cli train reads a CSV with chosen columns (the run keeps it as
# the JSONL it was read as), --from continues from a run's adapter or a PEFT
# folder with its rank, and refuses what cannot work with a sentence.
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

err=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column 2 --answer-column 3 \
      --from "$tmp/a" --rank 8 --out "$tmp/d" 2>&1 >/dev/null); rc=$?
check "--from with --rank: exit 2" '[ $rc = 2 ] && [ ! -e "$tmp/d" ]'
err=$("$cli" train --model "$model" --data "$tmp/facts.csv" --question-column 2 --answer-column 3 \
      --from "$tmp" --out "$tmp/e" 2>&1 >/dev/null); rc=$?
check "--from a folder that is no run nor adapter: exit 1, said" \
  '[ $rc = 1 ] && grep -q "neither a run folder nor an adapter folder" <<<"$err" && [ ! -e "$tmp/e" ]'

echo "1..$n"
exit $fail

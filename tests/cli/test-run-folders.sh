#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: run folders through `temper-cli`, on the tiny Hugging Face model
# (seconds).  A run never goes into a folder of the user's; one process at a
# time writes to a run, and the others are told who; metrics.jsonl is trimmed
# to the last checkpoint on resume and survives a torn last line; numbers and
# paths read back from state.json and settings.json are checked.
set -u
cli=$1
model=$(realpath "$2")
data=$(realpath "$3")
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-run-folders.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
echo '{"val_fraction": 0}' >"$tmp/no-validation.json"
# In the background (BACKGROUND=1) temper-cli replaces the subshell, so that
# $! is its own process id.
train() {
  exec_or_not "$cli" train --model "$model" --data "$data" --config "$tmp/no-validation.json" --max-steps 6 \
    --batch 1 --checkpoint-every 2 --threads 1 -y "$@"
}
exec_or_not() { if [ "${BACKGROUND:-}" ]; then exec "$@"; else "$@"; fi; }
# The steps in metrics.jsonl, one a line; "bad" for a line that is not a JSON object.
steps() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]).read().split("\n")[:-1]:
    try: print(json.loads(line)["step"])
    except Exception: print("bad")' "$1"
}
# Sets key $2 of JSON file $1 to the JSON value $3.
set_json() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d[sys.argv[2]] = json.loads(sys.argv[3])
json.dump(d, open(sys.argv[1], "w"))' "$1" "$2" "$3"
}

# ---- a run goes only into a new or empty folder ------------------------------

mkdir -p "$tmp/cwd" && echo precious >"$tmp/cwd/notes.txt"
err=$(cd "$tmp/cwd" && train --out '' 2>&1 >/dev/null); rc=$?
check "train --out '' is refused and leaves the current folder alone" \
  '[ $rc != 0 ] && [ "$(ls -A "$tmp/cwd")" = notes.txt ] && [ "$(cat "$tmp/cwd/notes.txt")" = precious ]'

mkdir -p "$tmp/mine/sub" && echo precious >"$tmp/mine/notes.txt"
err=$(train --out "$tmp/mine" 2>&1 >/dev/null); rc=$?
check "train --out a folder of the user's is refused, naming a file found there" \
  '[ $rc != 0 ] && grep -q "already holds other files" <<<"$err" &&
   [ "$(ls -A "$tmp/mine" | tr "\n" " ")" = "notes.txt sub " ]'

mkdir "$tmp/empty"
train --out "$tmp/empty" >/dev/null 2>&1; rc=$?
check "train --out an empty folder makes the run there" '[ $rc = 0 ] && [ -d "$tmp/empty/adapter" ]'

# ---- one process at a time ---------------------------------------------------

# Slowed down so that the first still trains when the second starts.
BACKGROUND=1 TEMPER_TEST_CHECKPOINT_PAUSE_MS=700 train --out "$tmp/run" >"$tmp/first.log" 2>&1 &
first=$!; pids+=("$first")
for _ in $(seq 100); do [ -s "$tmp/run/settings.json" ] && break; sleep 0.1; done
err=$("$cli" resume "$tmp/run" --threads 1 2>&1 >/dev/null); rc=$?
check "a resume while train runs is refused and says who trains it" \
  '[ $rc != 0 ] && grep -q "This run is being trained by temper-cli (process $first)" <<<"$err"'
err=$(train --out "$tmp/run" 2>&1 >/dev/null); rc=$?
check "a second train into the same --out is refused" '[ $rc != 0 ]'
err=$("$cli" export "$tmp/run" --format peft -o "$tmp/run/exports-peft" 2>&1 >/dev/null); rc=$?
check "an export into the run's folder while it trains is refused" \
  '[ $rc != 0 ] && ! [ -e "$tmp/run/exports-peft" ]'
wait "$first"; rc=$?
check "the first run finishes undisturbed, one metrics line per step" \
  '[ $rc = 0 ] && [ "$(steps "$tmp/run/metrics.jsonl" | tr "\n" " ")" = "1 2 3 4 5 6 " ]'

BACKGROUND=1 TEMPER_TEST_CHECKPOINT_PAUSE_MS=1000 exec_or_not "$cli" resume "$tmp/run" --threads 1 >/dev/null 2>&1 &
second=$!; pids+=("$second")
sleep 0.5
err=$("$cli" resume "$tmp/run" --threads 1 2>&1 >/dev/null); rc=$?
check "two resumes of one run: the second is refused and says who holds it" \
  '[ $rc != 0 ] && grep -q "process $second" <<<"$err"'
kill -9 "$second" 2>/dev/null; wait "$second" 2>/dev/null
"$cli" resume "$tmp/run" --threads 1 >/dev/null 2>&1; rc=$?
check "the lock of a killed process is taken over" '[ $rc = 0 ]'

# ---- metrics.jsonl -----------------------------------------------------------

# As if stopped before its first checkpoint, with a line torn by a full disk.
cp -r "$tmp/run" "$tmp/early"
rm -rf "$tmp/early/checkpoints" "$tmp/early/adapter"
head -n 3 "$tmp/run/metrics.jsonl" >"$tmp/early/metrics.jsonl"
printf '{"step":4,"epoch":2.0,"lo' >>"$tmp/early/metrics.jsonl"
"$cli" resume "$tmp/early" --threads 1 >/dev/null 2>&1; rc=$?
check "resumed before the first checkpoint: each step once, no torn or glued line" \
  '[ $rc = 0 ] && [ "$(steps "$tmp/early/metrics.jsonl" | tr "\n" " ")" = "1 2 3 4 5 6 " ]'

# Back to the checkpoint of step 4, with the torn line after it.
cp -r "$tmp/run" "$tmp/mid"
rm -rf "$tmp/mid/checkpoints/step-00000006" "$tmp/mid/adapter"
printf '{"step":7,"ep' >>"$tmp/mid/metrics.jsonl"
"$cli" resume "$tmp/mid" --threads 1 >/dev/null 2>&1; rc=$?
check "resumed from a checkpoint: the lines after it are replaced, not repeated" \
  '[ $rc = 0 ] && [ "$(steps "$tmp/mid/metrics.jsonl" | tr "\n" " ")" = "1 2 3 4 5 6 " ]'

# ---- state.json and settings.json are checked --------------------------------

cp -r "$tmp/run" "$tmp/epoch"
rm -rf "$tmp/epoch/checkpoints/step-00000006" "$tmp/epoch/adapter"
set_json "$tmp/epoch/checkpoints/step-00000004/state.json" epoch 2147483647
err=$(timeout 60 "$cli" resume "$tmp/epoch" --threads 1 2>&1 >/dev/null); rc=$?
check "an epoch of 2147483647 in state.json is refused, naming file, key, value and range" \
  '[ $rc = 1 ] && grep -q "state.json" <<<"$err" && grep -q "“epoch” is 2147483647" <<<"$err" &&
   grep -q "between 0 and" <<<"$err"'

cp -r "$tmp/run" "$tmp/escape"
rm -rf "$tmp/escape/checkpoints" "$tmp/escape/adapter"
cp "$data" "$tmp/outside.jsonl"
set_json "$tmp/escape/settings.json" dataset '"../../outside.jsonl"'
err=$("$cli" resume "$tmp/escape" --threads 1 2>&1 >/dev/null); rc=$?
check "a settings.json that points the dataset outside the run is refused" \
  '[ $rc = 1 ] && grep -q "“dataset”" <<<"$err" && ! [ -d "$tmp/escape/adapter" ]'
set_json "$tmp/escape/settings.json" dataset "\"$tmp/outside.jsonl\""
err=$("$cli" resume "$tmp/escape" --threads 1 2>&1 >/dev/null); rc=$?
check "an absolute dataset path in settings.json is refused too" \
  '[ $rc = 1 ] && grep -q "“dataset”" <<<"$err" && ! [ -d "$tmp/escape/adapter" ]'

echo "1..$n"
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: temper-cli refuses bad input with a message, never silently or by
# hanging: numbers out of range (the flag, the value and the range are
# named), special files given as inputs, and data shown on a terminal.
set -u
cli=$1
n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# Each line: command (words), flag, bad value, text the message must hold.
# The model and data need not exist: numbers are checked as they are parsed.
while read -r command flag value expect; do
  [ -z "$command" ] && continue
  # shellcheck disable=SC2086
  err=$(timeout 20 "$cli" ${command//+/ } MODEL DATA "$flag" "$value" 2>&1 >/dev/null); rc=$?
  check "${command//+/ } $flag $value is refused naming flag, value and range" \
        '[ $rc = 2 ] && grep -qF -- "$flag is $expect" <<<"$err" && grep -q "from .* to " <<<"$err"'
done <<'LIST'
train --rank -1 -1
train --rank 0 0
train --lr nan nan
train --lr -0.001 -0.001
train --dropout 1.5 1.5
train --dropout -inf -inf
train --batch 0 0
train --epochs -3 -3
train --max-steps 0 0
train --max-steps -1 -1
train --warmup -1 -1
train --max-length 4 4
train --grad-accum 0 0
train --alpha nan nan
train --threads -2 -2
train --eval-every -5 -5
train --checkpoint-every -1 -1
train --patience -1 -1
train --seed -1 -1
train --device -1 -1
chat --temperature nan nan
chat --temperature -1 -1
chat --top-p 1.5 1.5
chat --top-p nan nan
chat --top-k -1 -1
chat --max-tokens 0 0
chat --context 0 0
chat --threads 0 0
chat --repeat-penalty 0 0
compare --max-tokens -4 -4
compare --limit 0 0
evaluate --limit -1 -1
evaluate --threads 99999 99999
export --shard-size 0 0
dataset+check --max-length -1 -1
bench+generate --repetitions 0 0
bench+generate --gen-tokens -1 -1
bench+train --seq 0 0
bench+train --steps -1 -1
bench+train --peak-tflops nan nan
LIST

err=$("$cli" train MODEL DATA --rank abc 2>&1 >/dev/null); rc=$?
check "a flag that is not a number is refused" '[ $rc = 2 ] && grep -q -- "--rank is “abc”, which is not a whole number" <<<"$err"'

# Special files given as inputs: a FIFO blocked the reader forever, a folder
# where a file belongs gave a confusing error.  The sample data and the
# demo model only need to exist for the flags that are not the FIFO.
src=${TEMPER_SOURCE_DIR:-$(dirname "$0")/../..}
model=$src/data/models/SmolLM2-135M-Instruct.Q4_1.gguf
data=$src/data/samples/product-faq.jsonl
mkfifo "$tmp/fifo"
while read -r label args; do
  [ -z "$label" ] && continue
  # shellcheck disable=SC2086
  err=$(timeout 20 "$cli" ${args//@FIFO@/$tmp/fifo} --out "$tmp/run-$n" 2>&1 >/dev/null); rc=$?
  check "a FIFO as $label is refused at once" '[ $rc != 124 ] && [ $rc != 0 ] && grep -q "named pipe" <<<"$err"'
done <<LIST
model train --model @FIFO@ --data $data
dataset train --model $model --data @FIFO@
validation-data train --model $model --data $data --val-data @FIFO@
--config train --model $model --data $data --config @FIFO@
LIST
for c in "info" "dataset check" "tokenize"; do
  text=; [ "$c" = tokenize ] && text=hello
  # shellcheck disable=SC2086
  err=$(timeout 20 "$cli" $c "$tmp/fifo" $text 2>&1 >/dev/null); rc=$?
  check "'$c' refuses a FIFO at once" '[ $rc = 1 ] && grep -q "named pipe" <<<"$err"'
done
err=$(timeout 20 "$cli" dataset check "$tmp" 2>&1 >/dev/null); rc=$?
check "'dataset check' refuses a folder" '[ $rc = 1 ] && grep -q "is a folder; a file is expected" <<<"$err"'

# Data shown on a terminal cannot drive it: an escape sequence in a record
# (here one that clears the screen) is printed as visible text.
printf '%s\n' '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}' \
  '{"messages": [{"role": "\u001b[2Jevil", "content": "x"}]}' \
  '{"messages": [{"role": "\u001b]0;title\u0007\u202e", "content": "x"}]}' > "$tmp/escapes.jsonl"
out=$("$cli" dataset check "$tmp/escapes.jsonl" 2>&1)
check "dataset check prints no raw control character from the data" \
      '! LC_ALL=C grep -q "[[:cntrl:]]" <<<"$(tr -d "\n" <<<"$out")" && grep -qF "\x1b[2Jevil" <<<"$out"'
printf '%s\n' '{"messages": [{"role": "\u001b[2Jevil", "content": "x"}]}' > "$tmp/all-bad.jsonl"
out=$("$cli" dataset check "$tmp/all-bad.jsonl" 2>&1)
check "the failure message of dataset check holds no raw control character" \
      '! LC_ALL=C grep -q "[[:cntrl:]]" <<<"$(tr -d "\n" <<<"$out")" && grep -qF "\x1b[2Jevil" <<<"$out"'

# chat reads a line of any length as one message: it split lines at 8,191
# bytes.  The tiny model's context is far shorter than the line, so chat
# stops at once, saying how many tokens the message it got has: at least
# as many as the whole line makes.
tiny=$src/tests/fixtures/train/tiny-llama
line=$(printf 'the cat sat on the mat. %.0s' $(seq 1 500))
line_tokens=$("$cli" tokenize --json "$tiny" "$line" | tr -cd ',' | wc -c)
err=$(printf '%s\n' "$line" | timeout 60 "$cli" chat "$tiny" --max-tokens 1 --threads 1 2>&1 >/dev/null)
chat_tokens=$(sed -n 's/.*The prompt is \([0-9]*\) tokens long.*/\1/p' <<<"$err")
check "chat takes a ${#line}-byte line as one message" \
      '[ -n "$chat_tokens" ] && [ "$chat_tokens" -gt "$line_tokens" ]'

# info names the model as the model lists do, not by the GGUF's general.name
# when a converter made that up from a folder name (the demo file's is
# "Smollm2 135M 8k Lc100K Mix1 Ep2").
out=$("$cli" info "$model" 2>&1); rc=$?
check "info names the demo model by its own name" \
  '[ $rc = 0 ] && grep -q "^Name: *SmolLM2-135M-Instruct$" <<<"$out" && ! grep -q "Lc100K" <<<"$out"'

echo "1..$n"
exit $fail

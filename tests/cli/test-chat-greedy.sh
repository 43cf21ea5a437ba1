#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: `temper-cli chat --temperature 0` is plain greedy decoding, the answer
# transformers gives greedily (tests/nn/make-logits-fixtures.py recorded it
# from the demo model dequantised to float32): no repeat penalty unless one is
# asked for, and asking for one still changes the answer.  --exact keeps the
# activations in fp32: the Chinese continuation has near ties (transformers'
# two best logits 0.011 and 0.013 apart at two steps), which the default 8-bit
# activations of generation may break either way.
set -u
cli=$1
model=$2
fixtures=$3
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

if [ ! -f "$model" ]; then
  echo "1..0 # SKIP the demo model is not there (run build-aux/fetch-demo-model.sh)"
  exit 0
fi

# field FILE KEY: a string member of a fixture; greedy_text is cut at the
# first end of turn, where chat stops.
field() {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = d[sys.argv[2]]
print(v.split("<|im_end|>")[0] if sys.argv[2] == "greedy_text" else v)' "$1" "$2"
}

for lang in english chinese; do
  fixture="$fixtures/smollm2-$lang.json"
  question=$(field "$fixture" text)
  expected=$(field "$fixture" greedy_text)
  n_greedy=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["greedy"]))' "$fixture")
  answer=$("$cli" chat "$model" -p "$question" --temperature 0 --exact --max-tokens "$n_greedy" --threads 2 2>/dev/null); rc=$?
  check "$lang: --temperature 0 gives transformers' greedy answer" '[ $rc = 0 ] && [ "$answer" = "$expected" ]'
  [ "$answer" = "$expected" ] || printf '# got:      %s\n# expected: %s\n' "$answer" "$expected"
  if [ "$lang" = chinese ]; then
    penalised=$("$cli" chat "$model" -p "$question" --temperature 0 --exact --repeat-penalty 1.5 \
                --max-tokens "$n_greedy" --threads 2 2>/dev/null); rc=$?
    check "$lang: an explicit --repeat-penalty still applies at temperature 0" \
      '[ $rc = 0 ] && [ -n "$penalised" ] && [ "$penalised" != "$expected" ]'
  fi
done

echo "1..$n"
exit $fail

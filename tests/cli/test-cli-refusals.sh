#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: a model of a family Temper does not read is refused with what cannot
# be done where it is asked: info still shows what the file says, chat says
# it cannot chat with it, train that it cannot train it.
set -u
cli=$1
model=$2
data=$3
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-refusals.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

out=$("$cli" info "$model" 2>"$tmp/err"); rc=$?; err=$(cat "$tmp/err")
check "info shows the architecture it read" 'grep -q "^Architecture: *deepseek2$" <<<"$out"'
check "info shows the file's own quantization name" 'grep -q "^Quantization: *Q4_K_M$" <<<"$out"'
check "info says it can neither chat nor train, with the family" \
  '[ $rc = 1 ] && grep -q "neither chat with nor train" <<<"$err" && grep -q "DeepSeek-V2/V3" <<<"$err" && grep -q "distill" <<<"$err"'

err=$("$cli" chat "$model" -p hi 2>&1 >/dev/null); rc=$?
check "chat says it cannot chat with the model" \
  '[ $rc = 1 ] && grep -q "cannot chat with this model" <<<"$err" && ! grep -q "cannot train" <<<"$err"'

err=$("$cli" train --model "$model" --data "$data" --out "$tmp/run" -y 2>&1 >/dev/null); rc=$?
check "train says it cannot train the model" '[ $rc = 1 ] && grep -q "cannot train this model" <<<"$err"'
check "train leaves no run folder behind" '[ ! -e "$tmp/run" ]'

echo "1..$n"
exit $fail

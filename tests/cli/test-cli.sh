#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: the command-line contract of temper-cli — --help and --version work,
# every subcommand has --help, and bad arguments give one line on stderr and
# exit code 2.
set -u
cli=$1
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

out=$("$cli" --help); rc=$?
check "--help exits 0" '[ $rc = 0 ]'
check "--help lists commands" 'grep -q "^Commands:" <<<"$out"'

out=$("$cli" --version); rc=$?
check "--version exits 0 and prints a version" '[ $rc = 0 ] && grep -Eq "^temper-cli [0-9]+\.[0-9]+" <<<"$out"'

err=$("$cli" 2>&1 >/dev/null); rc=$?
check "no command exits 2" '[ $rc = 2 ]'

err=$("$cli" no-such-command 2>&1 >/dev/null); rc=$?
check "unknown command exits 2 with one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'

# Command names are the first column of the list, up to two spaces.
mapfile -t commands < <("$cli" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z -]*[a-z]\)  .*/\1/p')
check "at least one command listed" '[ ${#commands[@]} -gt 0 ]'

for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  out=$("$cli" $c --help 2>&1); rc=$?
  check "'$c --help' exits 0 and shows usage" '[ $rc = 0 ] && grep -q "Usage:" <<<"$out"'
  # shellcheck disable=SC2086
  err=$("$cli" $c --no-such-option 2>&1 >/dev/null); rc=$?
  check "'$c --no-such-option' exits 2 with one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'
done

# devices --ops prints the backends' op tables: CUDA's missing K-quant
# decoders show, the mixture of experts and the family ops on every backend;
# --json says the same.
out=$("$cli" devices --ops 2>&1); rc=$?
check "'devices --ops' exits 0 and lists ops and weight types" \
  '[ $rc = 0 ] && grep -q "^matmul\|^rmsnorm " <<<"$out" && grep -q "^WEIGHT TYPE" <<<"$out"'
check "'devices --ops' shows CUDA without Q6_K, CPU with it" \
  'grep -Eq "^Q6_K +all +[a-z_, ]+ +no" <<<"$out"'
check "'devices --ops' shows the mixture of experts on every backend" \
  'grep -Eq "^moe +yes +(yes|not built) +yes" <<<"$out"'
check "'devices --ops' shows the RoPE table and the soft-capped loss on every backend" \
  'grep -Eq "^rope_table +yes +(yes|not built) +yes" <<<"$out" && grep -Eq "^lm_head_cross_entropy_softcap +yes +(yes|not built) +yes" <<<"$out"'
out=$("$cli" devices --ops --json 2>&1); rc=$?
check "'devices --ops --json' lists CUDA's matmul types without Q6_K" \
  '[ $rc = 0 ] && python3 -c "import json,sys; d=json.load(sys.stdin)[\"backends\"]; m=d[\"cuda\"][\"ops\"][\"matmul\"]; sys.exit(0 if \"Q4_1\" in m and \"Q6_K\" not in m and \"Q6_K\" in d[\"cpu\"][\"ops\"][\"matmul\"] else 1)" <<<"$out"'

echo "1..$n"
exit $fail

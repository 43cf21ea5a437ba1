#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: transformers loads Temper's merged Hugging Face folders made from GGUF
# bases (write-hf-from-gguf), and its logits and token ids match Temper's
# (check-hf-from-gguf.py).  Skipped where Python lacks torch/transformers
# ($TEMPER_PYTHON picks the interpreter).
set -u
writer=$1
checker=$2
tokenizer_fixtures=$3
python=${TEMPER_PYTHON:-python3}

if ! "$python" -c 'import torch, transformers' 2>/dev/null; then
  echo "1..0 # SKIP $python cannot import torch and transformers"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-hf-from-gguf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$writer" "$tmp" >/dev/null || { echo "not ok 1 - write-hf-from-gguf failed"; echo "1..1"; exit 1; }
out=$("$python" "$checker" "$tmp" "$tokenizer_fixtures" 2>&1); rc=$?
if [ $rc = 0 ]; then
  echo "ok 1 - transformers loads the folders; logits and tokens match Temper's"
else
  echo "not ok 1 - transformers loads the folders; logits and tokens match Temper's"
fi
sed 's/^/# /' <<<"$out"
echo "1..1"
exit $((rc != 0))

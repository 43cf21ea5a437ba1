#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: PEFT loads the config of Temper's PEFT export of a Hugging Face base
# (tests/fixtures/nn/tiny-qwen2, written by write-export-inputs), and the
# base it names resolves.  Skipped where Python lacks peft/transformers
# ($TEMPER_PYTHON picks the interpreter; no torch needed).
set -u
writer=$1
checker=$2
python=${TEMPER_PYTHON:-python3}

if ! "$python" -c 'import peft, transformers' 2>/dev/null; then
  echo "1..0 # SKIP $python cannot import peft and transformers"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-peft-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$writer" "$tmp" >/dev/null || { echo "not ok 1 - write-export-inputs failed"; echo "1..1"; exit 1; }
if out=$("$python" "$checker" "$tmp/peft" 2>&1); then
  echo "ok 1 - PeftConfig.from_pretrained loads the export and its base resolves"
  sed 's/^/# /' <<<"$out"
  echo "1..1"
  exit 0
fi
echo "not ok 1 - PeftConfig.from_pretrained loads the export and its base resolves"
sed 's/^/# /' <<<"$out"
echo "1..1"
exit 1

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the main job on the bundled demo model — teach it facts about
# a fictional product with LoRA, then ask it questions it has never seen,
# before and after, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cli="$build/app/cli/temper-cli"
model=data/models/SmolLM2-135M-Instruct.Q4_1.gguf

"$cli" --version
echo
"$cli" info "$model"
echo

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Five facts, each in English and Chinese (the first ten records), keep the
# demo within minutes on two CPU cores; the held-out questions ask about the
# same facts in other words.
sed -n '1,10p' data/samples/product-faq.jsonl > "$work/facts.jsonl"
sed -n '1,5p;13,14p;16p' data/samples/product-faq-heldout.jsonl > "$work/questions.jsonl"

# No settings chosen by hand: Temper picks them for this model and these
# records, and says why.
"$cli" train --model "$model" --data "$work/facts.jsonl" --out "$work/run"
echo
echo "Held-out questions (never seen in training), greedy answers:"
"$cli" compare "$work/run" --prompts "$work/questions.jsonl" --max-tokens 40

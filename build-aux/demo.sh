#!/usr/bin/env bash
# `make demo`: the main job on the bundled demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cli="$build/app/cli/temper-cli"
model=data/models/SmolLM2-135M-Instruct.Q4_1.gguf

"$cli" --version
ls -l "$model"

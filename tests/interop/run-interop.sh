#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs tests/interop/llamafactory-interop.py (ids, train) or axolotl-interop.py
# (axolotl) in its virtualenv, or skips (exit 77) naming the command that
# builds it.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/temper"
if [ "$1" = axolotl ]; then
  venv="${TEMPER_AXOLOTL_VENV:-$cache/axolotl-venv}"
  if [ ! -x "$venv/bin/axolotl" ]; then
    echo "SKIP: no axolotl virtualenv at $venv; build it once with \`make interop-env AXOLOTL=1\`"
    exit 77
  fi
  export AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 HF_DATASETS_OFFLINE=1
  exec "$venv/bin/python" "$(dirname "$0")/axolotl-interop.py" --cli "$2"
fi
venv="${TEMPER_INTEROP_VENV:-$cache/interop-venv}"
if [ ! -x "$venv/bin/llamafactory-cli" ]; then
  echo "SKIP: no LLaMA-Factory virtualenv at $venv; build it once with \`make interop-env\`"
  exit 77
fi
PATH="$venv/bin:$PATH"
export PATH
exec "$venv/bin/python" "$(dirname "$0")/llamafactory-interop.py" "$1" --cli "$2"

#!/bin/sh
# Runs tests/interop/llamafactory-interop.py in the interop virtualenv, or
# skips (exit 77) naming the command that builds it.
venv="${TEMPER_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/temper/interop-venv}"
if [ ! -x "$venv/bin/llamafactory-cli" ]; then
  echo "SKIP: no LLaMA-Factory virtualenv at $venv; build it once with \`make interop-env\`"
  exit 77
fi
PATH="$venv/bin:$PATH"
export PATH
exec "$venv/bin/python" "$(dirname "$0")/llamafactory-interop.py" "$1" --cli "$2"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the virtualenv the interop suite (tests/interop) uses: LLaMA-Factory
# from PyPI, next to the source tree rather than in it, so a clean clone's
# `make check` stays fast and the suite runs only where this was done once.
#
#   TEMPER_INTEROP_VENV  where to put it
#                        (default ${XDG_CACHE_HOME:-~/.cache}/temper/interop-venv)
#   PYTHON               the interpreter to build it from (default python3; 3.11+)
#   AXOLOTL=1            also build TEMPER_AXOLOTL_VENV (default
#                        ${XDG_CACHE_HOME:-~/.cache}/temper/axolotl-venv) with axolotl,
#                        for tests/interop/axolotl-interop.py (several GB more)
set -eu

venv="${TEMPER_INTEROP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/temper/interop-venv}"
python="${PYTHON:-python3}"
# The version the committed fixtures (tests/interop/fixtures) were made with.
llamafactory_version="0.9.5"
axolotl_version="0.19.0"

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "interop-env: LLaMA-Factory $llamafactory_version needs Python 3.11 or newer;" \
       "set PYTHON to one." >&2
  exit 1
fi

mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip
# gguf: transformers reads the demo model's tokenizer from its GGUF file.
"$venv/bin/python" -m pip install "llamafactory==$llamafactory_version" gguf
"$venv/bin/python" -c 'import llamafactory, torch, transformers, peft; print("interop-env ready:", llamafactory.__version__, "torch", torch.__version__)'
echo "$venv"

if [ "${AXOLOTL:-0}" = 1 ]; then
  axolotl_venv="${TEMPER_AXOLOTL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/temper/axolotl-venv}"
  if [ ! -x "$axolotl_venv/bin/python" ]; then
    "$python" -m venv "$axolotl_venv"
  fi
  "$axolotl_venv/bin/python" -m pip install --upgrade pip
  # gguf: transformers reads the demo model's tokenizer from its GGUF file.
  "$axolotl_venv/bin/python" -m pip install "axolotl==$axolotl_version" gguf
  echo "$axolotl_venv"
fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a GUI test program: under a virtual X server when there is no
# display (unless the first argument is --no-display), on X11 either way so
# rendering is the same everywhere, with the schema compiled into the build
# tree and a throw-away home so the model scan never sees the real one.
set -eu

: "${TEMPER_BUILD_DIR:?TEMPER_BUILD_DIR must point at the build folder}"

export GDK_BACKEND=x11
export GSK_RENDERER=cairo
export GSETTINGS_SCHEMA_DIR="$TEMPER_BUILD_DIR/app/gui"
export GTK_A11Y=none
export NO_AT_BRIDGE=1
export ADW_DISABLE_PORTAL=1
export GTK_USE_PORTAL=0

home=$(mktemp -d "${TMPDIR:-/tmp}/temper-gui-test.XXXXXX")
trap 'rm -rf "$home"' EXIT
export HOME="$home"
export XDG_CACHE_HOME="$home/.cache"
export XDG_CONFIG_HOME="$home/.config"
export XDG_DATA_HOME="$home/.local/share"
unset HF_HOME HF_HUB_CACHE OLLAMA_MODELS 2>/dev/null || true

if [ "${1:-}" = "--no-display" ]; then
  shift
  "$@"
elif [ -n "${DISPLAY:-}" ]; then
  "$@"
elif command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s "-screen 0 1600x1000x24" "$@"
else
  echo "1..0 # SKIP no display, and xvfb-run is not installed (apt install xvfb)"
fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one validation tool as a one-test TAP stream, so meson reports the
# tool's own messages when it fails.
#   tap-run.sh DESCRIPTION PROGRAM [ARGUMENTS…]
description=$1
shift
echo "1..1"
output=$("$@" 2>&1)
status=$?
if [ -n "$output" ]; then
  printf '%s\n' "$output" | sed 's/^/# /'
fi
if [ $status -eq 0 ]; then
  echo "ok 1 - $description"
else
  echo "not ok 1 - $description (exit status $status)"
fi

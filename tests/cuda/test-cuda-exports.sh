#!/bin/sh
# SPDX-License-Identifier: MIT
# The CUDA module exports exactly one symbol, its entry point: everything
# else (kernels, launchers, CUDA runtime glue) stays private, so two builds
# or other CUDA libraries in the process can never clash with it.
#   test-cuda-exports.sh NM MODULE
nm=$1
module=$2
echo "1..1"
exports=$("$nm" -D --defined-only "$module" 2>&1 | awk '{ print $NF }' | sort)
printf '%s\n' "$exports" | sed 's/^/# exported: /'
if [ "$exports" = "temper_cuda_module_entry" ]; then
  echo "ok 1 - only temper_cuda_module_entry is exported"
else
  echo "not ok 1 - only temper_cuda_module_entry is exported"
fi

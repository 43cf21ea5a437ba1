#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a test program on the software Vulkan driver that
# build-aux/fetch-vulkan-test-driver.sh puts in .cache/vulkan-driver
# (Debian unstable's lavapipe, which has VK_KHR_cooperative_matrix), through
# that tree's own dynamic loader: its libraries need a newer C library than
# the system's, and that loader is backward compatible with programs built
# here.  Without the driver (offline, not fetched) the test reports itself
# skipped in TAP, saying why, rather than failing.
#
# Usage: run-with-driver.sh SOURCE_ROOT PROGRAM [ARGS...]
set -eu
root_dir=$1
shift
cache="$root_dir/.cache/vulkan-driver"
tree="$cache/root"
loader="$tree/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
icd="$cache/lvp_icd.json"

if [ ! -x "$loader" ] || [ ! -f "$icd" ]; then
  echo "1..0 # SKIP no cooperative-matrix test driver: run build-aux/fetch-vulkan-test-driver.sh (needs the network once)"
  exit 0
fi

# The test needs the driver: never let a GPU or the system's lavapipe stand in.
VK_ICD_FILENAMES="$icd"
VK_DRIVER_FILES="$icd"
TEMPER_VULKAN_ALLOW_SOFTWARE=1
# That driver has cooperative matrices, so the tests must not skip them.
TEMPER_TEST_EXPECT_COOPMAT=1
export VK_ICD_FILENAMES VK_DRIVER_FILES TEMPER_VULKAN_ALLOW_SOFTWARE TEMPER_TEST_EXPECT_COOPMAT
exec "$loader" --library-path "$tree/usr/lib/x86_64-linux-gnu:$tree/lib/x86_64-linux-gnu" "$@"

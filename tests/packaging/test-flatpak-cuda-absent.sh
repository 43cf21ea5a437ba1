#!/bin/sh
# SPDX-License-Identifier: MIT
# TAP: inside the Flatpak (FLATPAK_ID set) with an NVIDIA driver but without
# the optional CUDA extension, `temper-cli devices` says that CUDA is an
# add-on, names the extension to install, and that Vulkan is used instead.
#   test-flatpak-cuda-absent.sh TEMPER_CLI FAKE_LIBCUDA_DIR APP_ID
cli=$1
fake_dir=$2
app_id=$3
echo "1..2"
out=$(FLATPAK_ID=$app_id LD_LIBRARY_PATH="$fake_dir" "$cli" devices 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
if printf '%s\n' "$out" | grep -q "flatpak install $app_id.Cuda"; then
  echo "ok 1 - the devices list names the CUDA extension to install"
else
  echo "not ok 1 - the devices list names the CUDA extension to install"
fi
if printf '%s\n' "$out" | grep -q "used through Vulkan"; then
  echo "ok 2 - and says the NVIDIA card is used through Vulkan"
else
  echo "not ok 2 - and says the NVIDIA card is used through Vulkan"
fi

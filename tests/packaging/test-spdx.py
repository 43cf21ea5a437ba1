#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: every source file of the tree says its licence in an SPDX line near
its top (C, CUDA and GLSL sources, headers, Python and shell scripts, meson
files).  Committed fixtures and the generated Unicode tables are data, not
source, and are left out.

    test-spdx.py SOURCE_ROOT
"""
import os
import sys

root = sys.argv[1]
SOURCE_DIRS = ('app', 'engine', 'kernels', 'shaders', 'tests', 'build-aux', 'config', 'data', 'po', 'flatpak')
SUFFIXES = ('.c', '.h', '.cu', '.cuh', '.comp', '.glsl', '.py', '.sh')
NAMES = ('meson.build', 'meson_options.txt')
SKIP = ('tests/fixtures/', 'engine/tokenizer/temper-unicode-tables.c')

def sources():
    for name in NAMES:
        if os.path.exists(os.path.join(root, name)):
            yield name
    for top in SOURCE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for f in sorted(filenames):
                path = os.path.relpath(os.path.join(dirpath, f), root)
                if path.startswith(SKIP) or os.path.islink(os.path.join(root, path)):
                    continue
                if f.endswith(SUFFIXES) or f in NAMES:
                    yield path

missing = []
count = 0
for path in sources():
    count += 1
    with open(os.path.join(root, path), encoding='utf-8', errors='replace') as fh:
        head = ''.join(fh.readline() for _ in range(3))
    if 'SPDX-License-Identifier: MIT' not in head:
        missing.append(path)

print('1..2')
print('ok 1 - %d source files found' % count if count > 100 else 'not ok 1 - only %d source files found' % count)
if missing:
    print('not ok 2 - files without an SPDX line in their first three lines:')
    for path in missing:
        print('#   ' + path)
else:
    print('ok 2 - every source file has an SPDX line')

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lists the C functions longer than LIMIT lines, longest first, as the
tree writes them (GNU style: the name at the start of a line, the body
between a '{' and a '}' at the start of a line).

Usage: build-aux/list-long-functions.py LIMIT FILE.c ...
  e.g. build-aux/list-long-functions.py 120 app/gui/*.c engine/*/*.c"""
import re
import sys


def long_functions(path, limit):
    name = start = None
    with open(path, errors='replace') as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        match = re.match(r'^([A-Za-z_][A-Za-z0-9_]*) \(', line)
        if match:
            name = match.group(1)
        if line.startswith('{') and name is not None:
            start = i
        elif line.startswith('}') and start is not None:
            if i - start + 1 > limit:
                yield i - start + 1, start + 1, name
            name = start = None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    limit = int(sys.argv[1])
    found = [(n, path, line, name) for path in sys.argv[2:]
             for n, line, name in long_functions(path, limit)]
    for n, path, line, name in sorted(found, reverse=True):
        print(f'{n:5d}  {path}:{line}  {name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

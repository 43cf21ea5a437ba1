#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The engine's layers, checked where the include folders cannot: the public
headers (engine/include/) are seen by every part, so a lower part could still
call a function of a higher one through them.  This reads the symbols of each
part's static libraries with nm and fails, naming the calls, when a part uses
a function or variable defined by a part it may not use (engine/meson.build's
table, followed transitively).  Run by the build (engine/meson.build); on
success it writes the stamp file.

Usage: check-engine-symbols.py NM STAMP --table PART=USED,USED ... \
           --libs PART LIB [LIB ...] [--libs PART LIB ...]
"""
import subprocess
import sys


def parse(argv):
    nm, stamp = argv[0], argv[1]
    table, libs, mode, part = {}, {}, None, None
    for arg in argv[2:]:
        if arg in ('--table', '--libs'):
            mode, part = arg, None
        elif mode == '--table':
            name, _, used = arg.partition('=')
            table[name] = [u for u in used.split(',') if u]
        elif part is None:
            part = arg
            libs.setdefault(part, [])
        else:
            libs[part].append(arg)
    return nm, stamp, table, libs


def closure(table, part):
    seen, todo = set(), [part]
    while todo:
        for used in table[todo.pop()]:
            if used not in seen:
                seen.add(used)
                todo.append(used)
    return seen


def symbols(nm, lib):
    """(defined, undefined) global symbol names of a static library, and for
    each undefined one the member (object file) that needs it."""
    out = subprocess.run([nm, '-A', '--defined-only', '-g', lib],
                         capture_output=True, text=True, check=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    out = subprocess.run([nm, '-A', '--undefined-only', lib],
                         capture_output=True, text=True, check=True).stdout
    undefined = {}
    for line in out.splitlines():
        fields = line.split()
        if fields:
            member = fields[0].rstrip(':').split(':')[-1]
            undefined.setdefault(fields[-1], member)
    return defined, undefined


def main():
    nm, stamp, table, libs = parse(sys.argv[1:])
    owner = {}
    needs = {}
    for part, paths in libs.items():
        needs[part] = {}
        for path in paths:
            defined, undefined = symbols(nm, path)
            for name in defined:
                owner[name] = part
            needs[part].update(undefined)
    errors = []
    for part, undefined in needs.items():
        allowed = closure(table, part) | {part}
        for name, member in sorted(undefined.items()):
            other = owner.get(name)
            if other is not None and other not in allowed:
                errors.append(f'engine part {part} ({member}) uses {name} of {other}, '
                              f'which {part} may not use')
    if errors:
        print('\n'.join(errors), file=sys.stderr)
        print('A lower part must not call a higher one: move the function down, '
              "or change the part's line in engine/meson.build (see HACKING.md).", file=sys.stderr)
        return 1
    with open(stamp, 'w') as f:
        f.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())

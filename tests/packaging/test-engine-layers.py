#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The engine's layers hold in the build: each part compiles with the include
folders of the parts it may use and no others.

For every engine part P (and for the CLI and the GUI, which see only
engine/include/ and config.h),
the compile command meson wrote for one of P's files (compile_commands.json)
preprocesses a one-line file that includes a private header of each part Q.
It must succeed when P may use Q (engine/meson.build's table, followed
transitively) and fail with "header not found" otherwise.  Including a
private header by its folder ("nn/temper-forward.h", "engine/nn/…") must
fail everywhere: that is how any file reached any header before.  The CLI
and the GUI must not reach any engine header, written or generated, by its
path from the source root or the build root.

Usage: test-engine-layers.py BUILD_DIR SOURCE_DIR PART=USED,USED ...
Prints TAP."""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# Includes the old single-library layout allowed and the layers forbid,
# written out here independently of the table: (part, private header).
KNOWN_FORBIDDEN = [
    ('vulkan', 'temper-backend-open.h'),   # Vulkan read the memory limit from the registry
    ('core', 'temper-cuda-private.h'),     # device listing sat in core
    ('cpu', 'temper-forward.h'),           # a backend sees the interface, not the transformer
    ('train', 'temper-export-private.h'),  # train took the base model id from export
    ('tokenizer', 'temper-model-private.h'),
    ('formats', 'temper-tokenizer-private.h'),
]


def parse_table(args):
    table = {}
    for arg in args:
        part, _, used = arg.partition('=')
        table[part] = [u for u in used.split(',') if u]
    return table


def closure(table, part):
    seen, todo = set(), [part]
    while todo:
        for used in table[todo.pop()]:
            if used not in seen:
                seen.add(used)
                todo.append(used)
    return seen


def compile_command(entry):
    """The entry's compiler command, preprocessing only, without its source
    and outputs."""
    args = shlex.split(entry['command'])
    if os.path.basename(args[0]) == 'ccache':
        args = args[1:]
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ('-o', '-c', '-MQ', '-MF', '-MT'):
            skip = True
            continue
        if a in ('-MD', '-MMD'):
            continue
        out.append(a)
    return out + ['-fdiagnostics-color=never', '-E', '-o', os.devnull]


def main():
    build_dir, source_dir = sys.argv[1], sys.argv[2]
    table = parse_table(sys.argv[3:])
    engine = os.path.join(source_dir, 'engine')
    with open(os.path.join(build_dir, 'compile_commands.json')) as f:
        entries = json.load(f)

    # One compile command per part: that of a file in engine/<part>/ (the
    # app's: a file of app/cli/).
    commands = {}
    for entry in entries:
        path = os.path.normpath(os.path.join(entry['directory'], entry['file']))
        rel = os.path.relpath(path, source_dir).split(os.sep)
        if len(rel) == 3 and rel[0] == 'engine' and rel[1] in table and rel[2].endswith('.c'):
            commands.setdefault(rel[1], (entry['directory'], compile_command(entry)))
        elif rel[:2] == ['app', 'cli'] and rel[-1].endswith('.c'):
            commands.setdefault('app', (entry['directory'], compile_command(entry)))
        elif rel[:2] == ['app', 'gui'] and rel[-1].endswith('.c'):
            commands.setdefault('gui', (entry['directory'], compile_command(entry)))

    headers = {}
    for part in table:
        names = sorted(n for n in os.listdir(os.path.join(engine, part)) if n.endswith('.h'))
        if names:
            headers[part] = names[0]

    # Headers the build writes for the engine (the shader table, the
    # engine's own config.h), by their path from the build root.
    generated = []
    for top in ('engine', 'shaders'):
        for folder, _, names in os.walk(os.path.join(build_dir, top)):
            generated += sorted(os.path.relpath(os.path.join(folder, n), build_dir)
                                for n in names if n.endswith('.h'))

    cases = []   # (description, part, include line, expect success)
    programs = ('app', 'gui')   # the CLI's files and the GUI's: the public API only
    for part in list(table) + list(programs):
        if part not in commands:
            continue   # not built here (e.g. Vulkan disabled, or no GTK)
        allowed = set() if part in programs else closure(table, part) | {part}
        for other, header in headers.items():
            if other not in commands and other in allowed:
                continue   # its headers may need what this build lacks
            cases.append((f'{part} {"may" if other in allowed else "may not"} include {other}/{header}',
                          part, header, other in allowed))
        cases.append((f'{part} may not include nn/temper-forward.h by its folder',
                      part, 'nn/temper-forward.h', False))
        cases.append((f'{part} may not include engine/nn/temper-forward.h from the root',
                      part, 'engine/nn/temper-forward.h', False))
        if part in programs:
            # Neither the source root nor the build root is on the programs'
            # include path (config.h has a folder of its own), so no
            # engine file, written or generated, is reachable by its path.
            for other, header in headers.items():
                cases.append((f'{part} may not include engine/{other}/{header} from the root',
                              part, f'engine/{other}/{header}', False))
            for header in generated:
                cases.append((f'{part} may not include the generated {header} from the build root',
                              part, header, False))
    for part, header in KNOWN_FORBIDDEN:
        if part in commands:
            cases.append((f'{part} may not include {header} (the old layout let it)', part, header, False))

    missing = [p for p in table if p not in commands and p not in ('vulkan', 'cuda')]
    print(f'1..{len(cases) + 1}')
    if missing or 'app' not in commands:
        print(f'not ok 1 - compile commands found for every part # missing: {missing or ["app (the CLI)"]}')
        failed = True
    else:
        print('ok 1 - compile commands found for every part')
        failed = False

    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, 'probe.c')
        for number, (what, part, header, expect_ok) in enumerate(cases, start=2):
            with open(probe, 'w') as f:
                f.write(f'#include "config.h"\n#include "{header}"\n')
            directory, command = commands[part]
            result = subprocess.run(command + [probe], cwd=directory, capture_output=True, text=True)
            # The probe's own include must be the one not found (not one
            # inside a header that was found).
            not_found = re.search(r'probe\.c:2:\d+: fatal error: .?' + re.escape(header) +
                                  r'.?(: No such file| file not found)', result.stderr) is not None
            if expect_ok:
                ok = result.returncode == 0
            else:
                ok = result.returncode != 0 and not_found
            if not ok:
                failed = True
                print(f'not ok {number} - {what}')
                for line in (result.stderr or 'it compiled').splitlines()[:6]:
                    print(f'# {line}')
            else:
                print(f'ok {number} - {what}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs Temper's libFuzzer harnesses (tests/fuzz) for a bounded time each.

  run-fuzz.py --build build-fuzz [--seconds 60] [NAME ...]   (make fuzz)
  run-fuzz.py --test NAME     (a meson test: the fuzzing build comes from
                               $TEMPER_FUZZ_BUILD, the time from
                               $TEMPER_FUZZ_SECONDS, 20 s by default; exits 77,
                               "skipped", when that is not set, and fails
                               when the harness is not built there)

Each harness starts from its kept corpus (BUILD/fuzz-corpus/NAME), seeds made
here from the test fixtures (BUILD/fuzz-seeds/NAME), the committed seeds
(tests/fuzz/seeds/NAME) and the inputs of bugs found before
(tests/fuzz/regressions/NAME).  Prints the executions run, and for a crash,
leak, timeout or undefined behaviour the reproducer's path and how to replay
it.  Exits 1 when a harness failed."""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(SOURCE, "tests", "fixtures")

# Longest input per harness: room for the seeds, small enough to stay fast.
MAX_LEN = {
    "fuzz-gguf": 100000,
    "fuzz-safetensors": 50000,
    "fuzz-safetensors-index": 8192,
    "fuzz-hf-config": 8192,
    "fuzz-tokenizer-json": 24000,
    "fuzz-encode": 4096,
    "fuzz-chat-template": 4096,
    "fuzz-dataset": 45000,
    "fuzz-run-files": 8192,
}


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def small_files(pattern, limit):
    return [p for p in sorted(glob.glob(fixture(pattern), recursive=True))
            if os.path.getsize(p) <= limit]


def seeds_for(name):
    """Yields (file name, bytes) seeds made from the test fixtures."""
    limit = MAX_LEN[name]
    if name == "fuzz-gguf":
        for p in small_files("**/*.gguf", limit):
            yield os.path.basename(p), read(p)
    elif name == "fuzz-safetensors":
        for p in small_files("**/*.safetensors", limit):
            yield p.replace("/", "_"), read(p)
    elif name == "fuzz-safetensors-index":
        yield "index", read(fixture("model", "hf-tiny-qwen2", "model.safetensors.index.json"))
    elif name == "fuzz-hf-config":
        for p in small_files("**/config.json", limit):
            if not p.endswith("adapter_config.json"):
                yield p.replace("/", "_"), read(p)
    elif name == "fuzz-tokenizer-json":
        for p in small_files("**/tokenizer.json", limit):
            config = os.path.join(os.path.dirname(p), "tokenizer_config.json")
            data = read(p)
            if os.path.exists(config):
                data += b"\0" + read(config)
            yield p.replace("/", "_"), data
    elif name == "fuzz-encode":
        corpus = fixture("tokenizer", "corpus.json")
        if os.path.exists(corpus):
            import json
            texts = json.load(open(corpus, encoding="utf-8"))
            if isinstance(texts, dict):
                texts = list(texts.values())
            for i, text in enumerate(texts):
                if isinstance(text, str):
                    for pick in (0, 1, 2, 3, 0x80, 0x83):
                        yield f"corpus-{i}-{pick}", bytes([pick]) + text.encode()
    elif name == "fuzz-chat-template":
        import json
        render = json.load(open(fixture("chat", "render.json"), encoding="utf-8"))
        names = sorted(render["templates"])
        for i, case in enumerate(render["cases"]):
            if case["template"] not in names:
                continue
            pick = names.index(case["template"]) | (0x80 if case.get("add_generation_prompt") else 0)
            roles = {"system": 0, "user": 1, "assistant": 2}
            parts = [bytes([48 + roles.get(m["role"], 1)]) + m["content"].encode()
                     for m in case["messages"]]
            yield f"case-{i}", bytes([pick]) + b"\0".join(parts)
        for i, tmpl in enumerate(names):
            yield f"template-{i}", (bytes([len(names)]) + render["templates"][tmpl]["jinja"].encode()
                                    + b"\0" + b"1Hello\0" + b"2Hi there")
    elif name == "fuzz-dataset":
        for p in small_files("datasets/*.json*", limit):
            ext = 1 if p.endswith(".json") else 0
            data = read(p)
            yield os.path.basename(p) + "-auto", bytes([ext]) + data
            yield os.path.basename(p) + "-tokens", bytes([ext | 0x10 | 0x20]) + data
    elif name == "fuzz-run-files":
        for p in small_files("**/settings.json", limit):
            yield p.replace("/", "_"), b"\0" + read(p)
        for p in small_files("**/state.json", limit):
            yield p.replace("/", "_"), b"\1" + read(p)
        for p in small_files("**/adapter_config.json", limit):
            yield p.replace("/", "_"), b"\2" + read(p)


def prepare(build, name):
    seeds = os.path.join(build, "fuzz-seeds", name)
    shutil.rmtree(seeds, ignore_errors=True)
    os.makedirs(seeds)
    for i, (base, data) in enumerate(seeds_for(name)):
        with open(os.path.join(seeds, f"{i:03d}-{base}"[:120]), "wb") as f:
            f.write(data[:MAX_LEN[name]])
    corpus = os.path.join(build, "fuzz-corpus", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(os.path.join(build, "fuzz-artifacts"), exist_ok=True)
    dirs = [corpus, seeds]
    for extra in ("seeds", "regressions"):
        d = os.path.join(SOURCE, "tests", "fuzz", extra, name)
        if os.path.isdir(d) and os.listdir(d):
            dirs.append(d)
    return dirs


def run(build, name, seconds):
    binary = os.path.join(build, "tests", "fuzz", name)
    dirs = prepare(build, name)
    artifacts = os.path.join(build, "fuzz-artifacts", name + "-")
    command = [binary, f"-max_total_time={seconds}", f"-max_len={MAX_LEN[name]}",
               "-timeout=30", "-rss_limit_mb=3072", "-error_exitcode=1",
               "-timeout_exitcode=1", "-print_final_stats=1",
               f"-artifact_prefix={artifacts}"] + dirs
    env = dict(os.environ,
               # Full stacks on allocation: json-glib has no frame pointers, and a
               # suppression can only match a frame the stack shows.
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=0:fast_unwind_on_malloc=0",
               LSAN_OPTIONS="suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "lsan-suppressions.txt"),
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    started = time.monotonic()
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    elapsed = time.monotonic() - started
    out = proc.stdout
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
    corpus = len(os.listdir(dirs[0]))
    executions = int(execs[-1]) if execs else 0
    if proc.returncode == 0:
        print(f"{name}: {executions} executions in {elapsed:.0f} s, corpus {corpus} inputs, no failure")
        return True
    reproducer = re.findall(r"Test unit written to (\S+)", out)
    print(out[-6000:])
    print(f"{name}: FAILED after {executions} executions in {elapsed:.0f} s (exit {proc.returncode})")
    if reproducer:
        print(f"{name}: reproducer {reproducer[-1]}")
        print(f"{name}: replay with  {binary} {reproducer[-1]}")
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build")
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--test")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()

    if args.test:
        build = os.environ.get("TEMPER_FUZZ_BUILD", "")
        seconds = args.seconds or int(os.environ.get("TEMPER_FUZZ_SECONDS", "20"))
        if not build:
            print("skipped: no fuzzing build (needs clang and libFuzzer; make check sets "
                  "TEMPER_FUZZ_BUILD when they are installed)")
            return 77
        if not os.path.exists(os.path.join(build, "tests", "fuzz", args.test)):
            print(f"{args.test} is missing from {build}: the clang build failed (see its log)")
            return 1
        return 0 if run(os.path.abspath(build), args.test, seconds) else 1

    build = os.path.abspath(args.build or "build-fuzz")
    seconds = args.seconds or int(os.environ.get("FUZZ_SECONDS", "60"))
    names = args.names or list(MAX_LEN)
    failed = [n for n in names if not run(build, n, seconds)]
    if failed:
        print("fuzz: failures in " + ", ".join(failed))
        return 1
    print(f"fuzz: {len(names)} harnesses, {seconds} s each, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the llama.cpp references for test-export-gguf-hf: the tiny Hugging
Face fixture models converted to F16 GGUF by llama.cpp's own
convert_hf_to_gguf.py.

    tests/export/make-llama-cpp-references.py LLAMA_CPP_SOURCE_DIR

Run from the source root, where torch and numpy are installed.  It writes
tests/fixtures/export/llama-cpp-hf-tiny-{qwen2,llama}.f16.gguf.

The converter names a byte-level tokenizer's pre-tokenizer by hashing its
output on a test text and knows only published tokenizers; the tiny
fixtures' tokenizers split text like GPT-2 (a plain ByteLevel
pre-tokenizer), so the lookup is answered with "gpt-2" for them.  Nothing
else of the converter is changed.
"""
import os
import subprocess
import sys

FIX = os.path.join("tests", "fixtures")
MODELS = ["hf-tiny-qwen2", "hf-tiny-llama"]

RUNNER = """
import sys
sys.path.insert(0, {src!r})
sys.path.insert(0, {gguf!r})
import convert_hf_to_gguf
import conversion.base
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
sys.argv = sys.argv[1:]
convert_hf_to_gguf.main()
"""


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = os.path.abspath(sys.argv[1])
    code = RUNNER.format(src=src, gguf=os.path.join(src, "gguf-py"))
    for name in MODELS:
        out = os.path.join(FIX, "export", "llama-cpp-%s.f16.gguf" % name)
        subprocess.run([sys.executable, "-c", code, "convert_hf_to_gguf.py",
                        os.path.join(FIX, "model", name), "--outtype", "f16",
                        "--outfile", out], check=True)
        print("wrote", out)


if __name__ == "__main__":
    main()

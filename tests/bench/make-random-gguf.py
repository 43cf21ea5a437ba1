#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A GGUF file of a model's architecture with random weights, for speed
benchmarks of shapes there is no file of (training speed does not depend on
the weights' values): `temper-cli bench train` on it, and
`bench-train-peft.py --config` on the same config.json, compare the two at
the same shape.

    python3 tests/bench/make-random-gguf.py --config tests/bench/configs/qwen2.5-0.5b.json \\
        --tokenizer tests/fixtures/families/qwen3 --llama-cpp /path/to/llama.cpp \\
        [--outtype q8_0] OUT.gguf

transformers builds the model from the config (its own random
initialisation) and saves it with the tokenizer of --tokenizer (a folder with
tokenizer.json; llama.cpp's converter pads the vocabulary to the config's
size with unused tokens); llama.cpp's convert_hf_to_gguf.py writes the GGUF
file (--outtype f32, f16, bf16 or q8_0).  Needs torch, transformers and a
llama.cpp source tree (convert_hf_to_gguf.py and gguf-py).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from transformers import AutoConfig, AutoModelForCausalLM

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt", "tokenizer.model"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", help="the GGUF file to write")
    ap.add_argument("--config", required=True, help="a Hugging Face config.json")
    ap.add_argument("--tokenizer", required=True, help="a folder holding a tokenizer of the family's kind")
    ap.add_argument("--llama-cpp", required=True, help="a llama.cpp source tree")
    ap.add_argument("--outtype", default="q8_0", choices=["f32", "f16", "bf16", "q8_0"])
    ap.add_argument("--pre", default="qwen2",
                    help="the pre-tokenizer name written into the file (default qwen2)")
    args = ap.parse_args()

    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists; not overwriting it")
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(args.config)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        del model
        for name in TOKENIZER_FILES:
            src = os.path.join(args.tokenizer, name)
            if os.path.exists(src):
                shutil.copy(src, folder)
        llama_cpp = os.path.abspath(args.llama_cpp)
        # The converter names the pre-tokenizer by a hash of a known
        # tokenizer; a borrowed one is named here instead.
        code = (
            "import sys\n"
            f"sys.path.insert(0, {os.path.join(llama_cpp, 'gguf-py')!r}); sys.path.insert(0, {llama_cpp!r})\n"
            "import conversion.base as base\n"
            f"base.TextModel.get_vocab_base_pre = lambda self, tokenizer: {args.pre!r}\n"
            "import convert_hf_to_gguf\n"
            f"sys.argv = ['convert_hf_to_gguf.py', {folder!r}, '--outtype', {args.outtype!r}, '--outfile', "
            f"{os.path.abspath(args.out)!r}]\n"
            "convert_hf_to_gguf.main()\n")
        subprocess.run([sys.executable, "-c", code], check=True)


if __name__ == "__main__":
    main()

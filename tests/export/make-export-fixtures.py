#!/usr/bin/env python3
"""Reference logits for Temper's exports, from transformers and PEFT.

Runs build/tests/export/write-export-inputs, which writes Temper's PEFT
adapter export and merged Hugging Face export of tests/fixtures/nn/tiny-qwen2
(with the adapter of tests/export/export-test-util.h), then loads

  * the base model + the PEFT adapter with peft.PeftModel, and
  * the merged folder with transformers alone,

and records the next-token logits after the test prompt in
tests/fixtures/export/tiny-qwen2-export.json.  test-export checks Temper's
own logits (base + adapter, and the merged folder re-opened) against them.

Usage: tests/export/make-export-fixtures.py BUILD_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(SOURCE, "tests", "fixtures", "nn", "tiny-qwen2")
OUT = os.path.join(SOURCE, "tests", "fixtures", "export", "tiny-qwen2-export.json")

# The prompt of export-test-util.h.
IM_START, IM_END = 257, 258
PROMPT = [IM_START] + [ord(c) for c in "user\nHi!"] + [IM_END, ord("\n"), IM_START] + \
         [ord(c) for c in "ass\n"]


def last_logits(model):
    with torch.no_grad():
        return model(torch.tensor([PROMPT])).logits[0, -1].double()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
    writer = os.path.join(build, "tests", "export", "write-export-inputs")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TEMPER_SOURCE_DIR=SOURCE)
        subprocess.run([writer, tmp], check=True, env=env)

        base = AutoModelForCausalLM.from_pretrained(TINY, dtype=torch.float32).eval()
        base_logits = last_logits(base)
        peft = PeftModel.from_pretrained(base, os.path.join(tmp, "peft")).eval()
        peft_logits = last_logits(peft)
        merged = AutoModelForCausalLM.from_pretrained(os.path.join(tmp, "merged"),
                                                      dtype=torch.float32).eval()
        merged_logits = last_logits(merged)

    change = (peft_logits - base_logits).norm() / peft_logits.norm()
    agree = (merged_logits - peft_logits).norm() / peft_logits.norm()
    print(f"adapter changes logits by {change:.3e}; merged vs PEFT {agree:.3e}")
    assert change > 0.05, "the test adapter should change the answer"
    assert agree < 1e-5, "transformers sees the merged export differ from the PEFT export"

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({
            "source": "tests/export/make-export-fixtures.py (transformers + peft, float32)",
            "prompt": PROMPT,
            "base_logits": [round(float(x), 6) for x in base_logits],
            "peft_logits": [round(float(x), 6) for x in peft_logits],
            "merged_logits": [round(float(x), 6) for x in merged_logits],
        }, f)
        f.write("\n")


if __name__ == "__main__":
    main()

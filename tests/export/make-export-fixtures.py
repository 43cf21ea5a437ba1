#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference logits for Temper's exports, from transformers and PEFT.

Runs build/tests/export/write-export-inputs, which writes Temper's PEFT
adapter export and merged Hugging Face export of tests/fixtures/nn/tiny-qwen2
(with the adapter of tests/export/export-test-util.h), then loads

  * the base model + the PEFT adapter with peft.PeftModel, and
  * the merged folder with transformers alone, and again sharded,

and records the next-token logits after the test prompt in
tests/fixtures/export/tiny-qwen2-export.json.  test-export checks Temper's
own logits (base + adapter, and the merged folder re-opened) against them.

For imports it also makes, with PEFT itself, an adapter "trained elsewhere"
(random A and B, saved in bfloat16 as Unsloth and LLaMA-Factory save them)
in tests/fixtures/export/peft-made/, converts it with llama.cpp's own
convert_lora_to_gguf.py to tests/fixtures/export/peft-made.gguf (F16), and
records PEFT's logits with it in tests/fixtures/export/peft-made.json.
test-export-import opens both files and compares.

Usage: tests/export/make-export-fixtures.py BUILD_DIR LLAMA_CPP_DIR
  LLAMA_CPP_DIR: a llama.cpp source tree (e.g. the vendor/llama.cpp folder of
  the llama-cpp-python sdist), for convert_lora_to_gguf.py and its gguf-py.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
TINY = os.path.join(SOURCE, "tests", "fixtures", "nn", "tiny-qwen2")
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "export")
OUT = os.path.join(FIXTURES, "tiny-qwen2-export.json")
PEFT_MADE = os.path.join(FIXTURES, "peft-made")
PEFT_MADE_GGUF = os.path.join(FIXTURES, "peft-made.gguf")
PEFT_MADE_JSON = os.path.join(FIXTURES, "peft-made.json")
ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# The prompt of export-test-util.h.
IM_START, IM_END = 257, 258
PROMPT = [IM_START] + [ord(c) for c in "user\nHi!"] + [IM_END, ord("\n"), IM_START] + \
         [ord(c) for c in "ass\n"]


def last_logits(model):
    with torch.no_grad():
        return model(torch.tensor([PROMPT])).logits[0, -1].double()


def rounded(values):
    return [round(float(x), 6) for x in values]


def make_foreign_adapter(llama_cpp):
    """An adapter made by PEFT, as another tool would hand it over."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(8)
    base = AutoModelForCausalLM.from_pretrained(TINY, dtype=torch.float32).eval()
    base_logits = last_logits(base)
    config = LoraConfig(r=4, lora_alpha=16, lora_dropout=0.05, target_modules=ALL_TARGETS,
                        init_lora_weights=False, task_type="CAUSAL_LM")
    model = get_peft_model(base, config).eval()
    # Saved in bfloat16: round first, so that the reference sees the same
    # numbers as a reader of the file.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.copy_(param.to(torch.bfloat16).to(torch.float32))
    logits = last_logits(model)
    change = (logits - base_logits).norm() / logits.norm()
    print(f"the PEFT-made adapter changes logits by {change:.3e}")
    assert change > 0.05, "the foreign adapter should change the answer"
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.data = param.data.to(torch.bfloat16)
    shutil.rmtree(PEFT_MADE, ignore_errors=True)
    model.save_pretrained(PEFT_MADE)
    # PEFT's README is a model card template; the path it records is this
    # machine's.
    os.remove(os.path.join(PEFT_MADE, "README.md"))
    config_path = os.path.join(PEFT_MADE, "adapter_config.json")
    with open(config_path) as f:
        adapter_config = json.load(f)
    adapter_config["base_model_name_or_path"] = "tests/fixtures/nn/tiny-qwen2"
    with open(config_path, "w") as f:
        json.dump(adapter_config, f, indent=2, sort_keys=True)

    env = dict(os.environ, PYTHONPATH=os.path.join(llama_cpp, "gguf-py"))
    subprocess.run([sys.executable, os.path.join(llama_cpp, "convert_lora_to_gguf.py"),
                    "--base", TINY, "--outtype", "f16", "--outfile", PEFT_MADE_GGUF, PEFT_MADE],
                   check=True, env=env)
    with open(PEFT_MADE_JSON, "w") as f:
        json.dump({
            "source": "tests/export/make-export-fixtures.py (peft, bfloat16 adapter, float32 "
                      "model; peft-made.gguf by llama.cpp's convert_lora_to_gguf.py --outtype f16)",
            "prompt": PROMPT,
            "base_logits": rounded(base_logits),
            "peft_logits": rounded(logits),
        }, f)
        f.write("\n")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
    if len(sys.argv) > 2:
        make_foreign_adapter(sys.argv[2])
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
        sharded_dir = os.path.join(tmp, "merged-sharded")
        shards = [f for f in os.listdir(sharded_dir) if f.endswith(".safetensors")]
        sharded = AutoModelForCausalLM.from_pretrained(sharded_dir, dtype=torch.float32).eval()
        sharded_logits = last_logits(sharded)

    change = (peft_logits - base_logits).norm() / peft_logits.norm()
    agree = (merged_logits - peft_logits).norm() / peft_logits.norm()
    print(f"adapter changes logits by {change:.3e}; merged vs PEFT {agree:.3e}")
    assert change > 0.05, "the test adapter should change the answer"
    assert agree < 1e-5, "transformers sees the merged export differ from the PEFT export"
    print(f"sharded merged export: {len(shards)} shards, vs single file "
          f"{(sharded_logits - merged_logits).abs().max():.3e}")
    assert len(shards) >= 2, "the sharded export should be in several files"
    assert torch.equal(sharded_logits, merged_logits), "transformers reads the shards differently"

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

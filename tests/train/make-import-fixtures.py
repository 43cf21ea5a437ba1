#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Adapters made by other tools, for test-lora-import: PEFT adapters on the
matrices the tiny family models (tests/fixtures/families) hold, and
llama.cpp's GGUF conversion of one, with PEFT's logits as the reference.

Writes into tests/fixtures/import/:
  <name>/          the PEFT adapter (adapter_config.json, adapter_model.safetensors)
  <name>.gguf      (phi3 only) the same adapter converted by llama.cpp's
                   convert_lora_to_gguf.py (F32): attn_qkv and fused ffn_up
  <name>.json      the family, prompt ids and the 12-token greedy continuation
  <name>.logits    float32 little-endian, 13 rows of n_vocab: PEFT's logits
                   after the prompt, then after each greedy token

  phi3        qkv_proj (rank 6 by rank_pattern), o_proj, gate_up_proj,
              down_proj at rank 4, α 8, as PEFT adapts Phi-3 / Phi-4-mini
  glm4        q/k/v/o_proj, gate_up_proj (rank 2 by rank_pattern), down_proj,
              α 8 with o_proj's α 2 (alpha_pattern), rsLoRA
  gemma3-vlm  every projection named in a list, as people write it for
              Gemma 3 4B: PEFT then also adapts the image tower's
              q/k/v_proj, which leaves the text unchanged

The LoRA weights are random (PEFT starts B at zero), so that each adapter
changes the answer.  Run from the source root:
  python3 tests/train/make-import-fixtures.py --llama-cpp /work/llama.cpp/src
Needs torch, transformers (>= 5), peft, and llama.cpp's source for the GGUF.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAMILIES = os.path.join(ROOT, "tests", "fixtures", "families")
OUT = os.path.join(ROOT, "tests", "fixtures", "import")
N_GREEDY = 12

ADAPTERS = {
    "phi3": dict(r=4, lora_alpha=8, target_modules=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
                 rank_pattern={"qkv_proj": 6}),
    "glm4": dict(r=4, lora_alpha=8, use_rslora=True,
                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"],
                 rank_pattern={"gate_up_proj": 2}, alpha_pattern={"o_proj": 2.0}),
    "gemma3-vlm": dict(r=4, lora_alpha=8,
                       target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
}


def make(name, llama_cpp):
    import transformers as tf
    from peft import LoraConfig, get_peft_model

    folder = os.path.join(FAMILIES, name)
    with open(os.path.join(FAMILIES, name + ".json")) as f:
        prompt = json.load(f)["prompt"]
    cls = tf.Gemma3ForConditionalGeneration if name == "gemma3-vlm" else tf.AutoModelForCausalLM
    base = cls.from_pretrained(folder, dtype=torch.float32).eval()
    model = get_peft_model(base, LoraConfig(lora_dropout=0.0, **ADAPTERS[name]))
    torch.manual_seed(99)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "lora_" in pname:
                p.normal_(0.0, 0.15)
    model.eval()
    out = os.path.join(OUT, name)
    model.save_pretrained(out)
    rows, greedy, seq = [], [], list(prompt)
    with torch.no_grad():
        base_logits = None
        for step in range(N_GREEDY + 1):
            logits = model(torch.tensor([seq])).logits[0, -1].float().numpy()
            if step == 0:
                with model.disable_adapter():
                    base_logits = model(torch.tensor([seq])).logits[0, -1].float().numpy()
            rows.append(logits)
            if step == N_GREEDY:
                break
            greedy.append(int(np.argmax(logits)))
            seq.append(greedy[-1])
    change = float(np.abs(rows[0] - base_logits).max() / np.abs(rows[0]).max())
    assert change > 0.02, f"{name}: the adapter should change the answer ({change})"
    np.stack(rows).astype("<f4").tofile(os.path.join(OUT, name + ".logits"))
    import peft
    meta = {"source": f"peft {peft.__version__} on transformers {tf.__version__} {type(base).__name__}, "
                      "random LoRA weights (seed 99)",
            "family": name, "prompt": prompt, "greedy": greedy, "n_vocab": int(rows[0].shape[0]),
            "adapter_changes_logits_by": change}
    if name == "phi3" and llama_cpp:
        gguf = os.path.join(OUT, name + ".gguf")
        subprocess.run([sys.executable, os.path.join(llama_cpp, "convert_lora_to_gguf.py"), "--base", folder,
                        "--outtype", "f32", "--outfile", gguf, out], check=True,
                       env=dict(os.environ, PYTHONPATH=os.path.join(llama_cpp, "gguf-py")))
        meta["gguf"] = "convert_lora_to_gguf.py --outtype f32"
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(name, "adapter changes the logits by", change)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", default=None, help="llama.cpp source folder (convert_lora_to_gguf.py)")
    parser.add_argument("names", nargs="*", default=list(ADAPTERS))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for n in args.names:
        make(n, args.llama_cpp)

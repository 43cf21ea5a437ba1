#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Training-step parity fixtures per family, made with transformers and PEFT
(run by hand; `make check` only reads the committed outputs).

Reads the tiny family models of tests/fixtures/families/ (written by
tests/nn/make-family-fixtures.py) and writes into
tests/fixtures/train/families/:
  <family>-adapter/      the initial LoRA adapter, PEFT's save_pretrained
  <family>-parity.json   the batches (ids + loss mask), the settings, and
                         the loss and gradient norm of each of 20 AdamW
                         steps PEFT took

Sequences are 40 tokens: past the sliding windows (24) and Llama 3.1's
original context (32).  Families whose projections are fused in the file
(Phi-3's qkv and gate_up, GLM-4's gate_up) are trained on the projections
both tools hold apart.  Qwen3-MoE and Mixtral adapt their attention only;
the gradient reaches the earlier layers through the frozen experts and router.

Usage: python3 tests/train/make-family-peft-fixtures.py [family …]
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "tests", "fixtures", "families")
OUT = os.path.join(ROOT, "tests", "fixtures", "train", "families")
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TARGETS = {
    "llama31": ALL, "qwen3": ALL, "mistral": ALL, "gemma3": ALL, "gemma2": ALL,
    "phi3": ["o_proj", "down_proj"],
    # YaRN (Qwen3) scales every position; Phi-3.5's LongRoPE trains its
    # long factors, the 40-token sequences being past phi35-long's original 8.
    "qwen3-yarn": ALL, "phi35-long": ["o_proj", "down_proj"],
    "glm4": ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"],
    # Mixtures of experts: LoRA on the attention, the experts and the router frozen.
    "qwen3moe": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mixtral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3moe-mixed": ["q_proj", "k_proj", "v_proj", "o_proj"],
    # Gemma 3 4B's layout: the text model of a Gemma3ForConditionalGeneration
    # (a pattern keeps PEFT off the image tower's projections of the same names).
    "gemma3-vlm": r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
}


def make(family):
    if family == "gemma3-vlm":
        from transformers import Gemma3ForConditionalGeneration as cls
    else:
        cls = AutoModelForCausalLM
    model = cls.from_pretrained(os.path.join(MODELS, family), dtype=torch.float32, attn_implementation="eager")
    vocab = model.config.get_text_config().vocab_size
    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=TARGETS[family])
    peft_model = get_peft_model(model, lcfg)
    torch.manual_seed(99)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            # B gets small values so that the first step already moves A.
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn_like(p))
    adapter_dir = os.path.join(OUT, f"{family}-adapter")
    shutil.rmtree(adapter_dir, ignore_errors=True)
    peft_model.save_pretrained(adapter_dir)
    readme = os.path.join(adapter_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)

    rng = np.random.default_rng(7)
    seq, micro_batch, n_batches, steps = 40, 2, 2, 20
    ids = rng.integers(5, vocab, size=(n_batches * micro_batch, seq)).astype(np.int64)
    mask = np.zeros_like(ids)
    for i in range(mask.shape[0]):
        mask[i, 4 + i:] = 1
    settings = dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                    max_grad_norm=1.0, micro_batch=micro_batch, seq=seq, steps=steps,
                    rank=4, alpha=8.0, targets=TARGETS[family])
    params = [p for n, p in peft_model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["learning_rate"],
                            betas=(settings["beta1"], settings["beta2"]),
                            eps=settings["eps"], weight_decay=settings["weight_decay"])
    peft_model.train()
    losses, grad_norms = [], []
    for step in range(steps):
        b = step % n_batches
        x = torch.tensor(ids[b * micro_batch:(b + 1) * micro_batch])
        m = torch.tensor(mask[b * micro_batch:(b + 1) * micro_batch])
        labels = torch.where(m.bool(), x, torch.full_like(x, -100))
        out = peft_model(input_ids=x, labels=labels)
        opt.zero_grad()
        out.loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"])
        opt.step()
        losses.append(out.loss.item())
        grad_norms.append(gn.item())
    with open(os.path.join(OUT, f"{family}-parity.json"), "w") as f:
        json.dump(dict(settings=settings, ids=ids.tolist(), mask=mask.tolist(),
                       losses=losses, grad_norms=grad_norms), f, indent=1)
    print(family, "losses", losses[0], "->", losses[-1])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for fam in sys.argv[1:] or list(TARGETS):
        make(fam)

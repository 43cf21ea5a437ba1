#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/eval/tiny-qwen2-nll.json and the LoRA adapter
tests/fixtures/eval/tiny-qwen2-adapter/: the negative log-likelihood that
transformers (and PEFT, for the adapter) give the masked tokens of a fixed
sequence on the tiny random Qwen2 model of tests/fixtures/nn/tiny-qwen2.

    python3 tests/eval/make-perplexity-fixtures.py

The adapter's B matrices are random (PEFT starts them at zero, which would
make the tuned model equal the base one and the test unable to tell them
apart)."""

import json
import os

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
MODEL = os.path.join(FIXTURES, "nn", "tiny-qwen2")
OUT = os.path.join(FIXTURES, "eval")


def masked_nll(model, ids, mask):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double()
    logp = torch.log_softmax(logits, dim=-1)
    total = 0.0
    for t in range(1, len(ids)):
        if mask[t]:
            total -= logp[t - 1, ids[t]].item()
    return total


def main():
    tok = PreTrainedTokenizerFast.from_pretrained(MODEL)
    prompt = tok("Hello world! How are you today?", add_special_tokens=False)["input_ids"]
    answer = tok(" I am fine, thank you. 长城是中国古代的军事防御工程。",
                 add_special_tokens=False)["input_ids"]
    ids = prompt + answer + [2]
    mask = [0] * len(prompt) + [1] * (len(answer) + 1)
    # A masked hole inside the answer, as a multi-turn chat has between turns.
    mask[len(prompt) + 3] = 0
    mask[len(prompt) + 4] = 0

    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    base = masked_nll(model, ids, mask)

    torch.manual_seed(99)
    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                      "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(model, lcfg)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.3)
    peft_model.eval()
    tuned = masked_nll(peft_model, ids, mask)
    adapter_dir = os.path.join(OUT, "tiny-qwen2-adapter")
    peft_model.save_pretrained(adapter_dir)
    # Keep the fixture free of this machine's paths and of PEFT's model card.
    os.remove(os.path.join(adapter_dir, "README.md"))
    config_path = os.path.join(adapter_dir, "adapter_config.json")
    with open(config_path) as f:
        adapter_config = json.load(f)
    adapter_config["base_model_name_or_path"] = "tests/fixtures/nn/tiny-qwen2"
    with open(config_path, "w") as f:
        json.dump(adapter_config, f, indent=2)

    with open(os.path.join(OUT, "tiny-qwen2-nll.json"), "w") as f:
        json.dump({"source": "transformers + PEFT (tests/eval/make-perplexity-fixtures.py)",
                   "ids": ids, "mask": mask, "n_tokens": sum(mask[1:]),
                   "base_nll_sum": base, "tuned_nll_sum": tuned}, f, indent=1)
    print("tokens", len(ids), "targets", sum(mask[1:]), "base", base, "tuned", tuned)


if __name__ == "__main__":
    main()

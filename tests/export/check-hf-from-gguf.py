#!/usr/bin/env python3
"""transformers on Temper's merged Hugging Face folders made from GGUF bases
(written with Temper's own figures by write-hf-from-gguf): the folder loads
with AutoModelForCausalLM and AutoTokenizer, its next-token logits match
Temper's for the GGUF with the adapter, its tokenizer gives Temper's ids,
and the chat template in tokenizer_config.json is the GGUF's.

Usage: check-hf-from-gguf.py DIR   (DIR as write-hf-from-gguf wrote it)
Exit 0: fine; 1: a check failed; 77: torch/transformers not installed.
"""
import json
import os
import sys

try:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
except ImportError as e:
    print(f"torch/transformers not installed: {e}")
    sys.exit(77)

out = sys.argv[1]
failed = False
for name in ("llama", "qwen2", "demo"):
    folder = os.path.join(out, name)
    if not os.path.isdir(folder):
        continue
    with open(os.path.join(out, name + ".json")) as f:
        temper = json.load(f)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([temper["prompt"]])).logits[0, -1].double()
    want = torch.tensor(temper["logits"], dtype=torch.float64)
    err = float(torch.linalg.norm(logits - want) / torch.linalg.norm(want))
    ok = err < 1e-4
    failed |= not ok
    print(f"{name}: logits vs Temper, normalized error {err:.2e} {'ok' if ok else 'FAILED'}")

    tok = AutoTokenizer.from_pretrained(folder)
    for text, ids in zip(temper["texts"], temper["tokens"]):
        got = tok(text, add_special_tokens=False)["input_ids"]
        if got != ids:
            failed = True
            print(f"{name}: tokens of {text!r} differ: transformers {got}, Temper {ids}")
    print(f"{name}: tokenizer checked on {len(temper['texts'])} texts")
    if name == "demo":
        messages = [{"role": "user", "content": "What is the capital of France?"}]
        rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        if "<|im_start|>assistant" not in rendered:
            failed = True
            print(f"demo: chat template did not render: {rendered!r}")
        else:
            print("demo: chat template renders")
sys.exit(1 if failed else 0)

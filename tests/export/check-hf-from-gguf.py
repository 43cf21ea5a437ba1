#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""transformers on Temper's merged Hugging Face folders made from GGUF bases
(written with Temper's own figures by write-hf-from-gguf): the folder loads
with AutoModelForCausalLM and AutoTokenizer, its next-token logits match
Temper's for the GGUF with the adapter, its tokenizer gives Temper's ids,
and the chat template in tokenizer_config.json is the GGUF's.

It also loads DIR/tokenizers/NAME/tokenizer.json (Temper's writing of
the GGUF tokenizer fixtures) with the tokenizers library and compares its
ids and decoded text on the tokenizer corpus with expected.json, which
make-tokenizer-fixtures.py recorded from Hugging Face's own tokenizers.

Usage: check-hf-from-gguf.py DIR FIXTURES
  DIR as write-hf-from-gguf wrote it; FIXTURES: tests/fixtures/tokenizer
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
from tokenizers import Tokenizer

fixtures = sys.argv[2]
with open(os.path.join(fixtures, "expected.json")) as f:
    expected = json.load(f)
with open(os.path.join(fixtures, "corpus.json")) as f:
    corpus = json.load(f) + expected["fuzz_corpus"]
for name, member in (("spm", "spm"), ("qwen2", "qwen2"), ("llama3", "llama3_gguf")):
    tok = Tokenizer.from_file(os.path.join(out, "tokenizers", name, "tokenizer.json"))
    ref = expected[member]
    bad = 0
    for i, text in enumerate(corpus):
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        back = tok.decode(ids, skip_special_tokens=False)
        tok.encode_special_tokens = True
        ids_plain = tok.encode(text, add_special_tokens=False).ids
        want_plain = ref["plain"][i] if ref["plain"][i] is not None else ref["special"][i]
        want_back = ref["decoded"][i] if ref["decoded"][i] is not None else text
        if ids != ref["special"][i] or ids_plain != want_plain or back != want_back:
            bad += 1
            if bad <= 3:
                print(f"{name}: {text!r}: ids {ids} vs {ref['special'][i]}, decoded {back!r}")
    failed |= bad > 0
    print(f"{name}: tokenizers library on Temper's tokenizer.json, {len(corpus) - bad}/{len(corpus)} strings as expected")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden values for tests/nn, from Hugging Face transformers (independent of Temper).

Writes into tests/fixtures/nn/:
  smollm2-<name>.json    prompt token ids (ChatML, from the HF tokenizer) and the
                         32-token greedy continuation
  smollm2-<name>.logits  the last-position logits, 49152 float32 little-endian
  tiny-qwen2/            a tiny random Qwen2 model (q/k/v bias, untied embeddings,
                         GQA) saved with save_pretrained, plus its tokenizer.json
  tiny-qwen2.json        its prompt, last-position logits and greedy continuation

Run from the source root:  python3 tests/nn/make-logits-fixtures.py
Needs torch, transformers (>= 5), tokenizers, gguf; the demo model must be in
data/models/.  Greedy continuations are computed step by step (argmax of the
full forward) so they do not depend on stop tokens.
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "nn")
MODELS = os.path.join(ROOT, "data", "models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_GREEDY = 32


def greedy(model, ids, n):
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([ids])).logits[0, -1]
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            ids.append(nxt)
    return out


def last_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].float().numpy()


def smollm2():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32)
    model.eval()
    prompts = {
        "english": "What is the capital of France? Answer in one sentence.",
        "chinese": "请用一句话介绍一下长城。",
    }
    for name, text in prompts.items():
        rendered = tok.apply_chat_template([{"role": "user", "content": text}],
                                           tokenize=False, add_generation_prompt=True)
        ids = tok(rendered, add_special_tokens=False)["input_ids"]
        logits = last_logits(model, ids)
        cont = greedy(model, ids, N_GREEDY)
        logits.astype("<f4").tofile(os.path.join(OUT, f"smollm2-{name}.logits"))
        with open(os.path.join(OUT, f"smollm2-{name}.json"), "w") as f:
            json.dump({"source": "transformers, " + GGUF + " dequantised to float32",
                       "text": text, "rendered": rendered, "prompt": ids,
                       "greedy": cont, "greedy_text": tok.decode(cont),
                       "n_vocab": int(logits.shape[0])}, f, ensure_ascii=False, indent=1)
        print(name, len(ids), "tokens ->", repr(tok.decode(cont)))


def tiny_qwen2():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder = os.path.join(OUT, "tiny-qwen2")
    os.makedirs(folder, exist_ok=True)

    corpus = [
        "The quick brown fox jumps over the lazy dog.",
        "Temper teaches a local language model a task with LoRA.",
        "Hello world! How are you today? I am fine, thank you.",
        "长城是中国古代的军事防御工程。", "def main():\n    return 0\n",
    ] * 20
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>",
                                   bos_token=None, pad_token="<|endoftext|>")
    fast.save_pretrained(folder)
    vocab = bpe.get_vocab_size()

    torch.manual_seed(1234)
    config = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=96,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=256, rope_theta=10000.0, rms_norm_eps=1e-6,
                         tie_word_embeddings=False, initializer_range=0.2,
                         eos_token_id=2, bos_token_id=None)
    model = Qwen2ForCausalLM(config).float()
    with torch.no_grad():
        # HF initialises biases to zero and norms to one: make them matter.
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.5)
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)

    ids = fast("Hello world! The quick brown fox", add_special_tokens=False)["input_ids"]
    logits = last_logits(model, ids)
    cont = greedy(model, ids, N_GREEDY)
    with open(os.path.join(OUT, "tiny-qwen2.json"), "w") as f:
        json.dump({"source": "transformers Qwen2ForCausalLM, random weights (seed 1234)",
                   "prompt": ids, "greedy": cont,
                   "logits": [float(x) for x in logits]}, f, indent=1)
    print("tiny-qwen2 vocab", vocab, "prompt", ids, "->", cont[:8])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    what = sys.argv[1:] or ["smollm2", "tiny-qwen2"]
    if "tiny-qwen2" in what:
        tiny_qwen2()
    if "smollm2" in what:
        smollm2()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden fixtures for Temper's LoRA training, made with Hugging Face
transformers, tokenizers and PEFT (run by hand; `make check` only reads the
outputs committed under tests/fixtures/train/).

Writes:
  tiny-llama/            a tiny random Llama (f32 safetensors + config.json +
                         tokenizer.json built with the `tokenizers` library)
  tiny-llama-adapter/    the initial LoRA adapter, PEFT's save_pretrained
  tiny-llama-adapter-gguf-order/
                         the same adapter with the q/k B rows put in llama.cpp's
                         interleaved order by llama.cpp's own permute formula
  peft-parity.json       the training batches (ids + loss mask), the settings
                         and the loss of each of 20 AdamW steps taken by PEFT
  schedules.json         learning rates from transformers' schedulers

Usage: python3 tests/train/make-peft-fixtures.py [OUTDIR]
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import (LlamaConfig, LlamaForCausalLM,
                          get_constant_schedule_with_warmup,
                          get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "train")

N_HEAD, N_HEAD_KV, HIDDEN = 4, 2, 64


def make_tokenizer(path):
    corpus = [
        "Temper teaches a small language model new facts.",
        "The Lumen kettle boils water in ninety seconds.",
        "Questions and answers about a fictional company.",
        "One two three four five six seven eight nine ten.",
    ] * 8
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(path)
    return tok.get_vocab_size()


def make_model(folder):
    os.makedirs(folder, exist_ok=True)
    vocab = make_tokenizer(os.path.join(folder, "tokenizer.json"))
    config = LlamaConfig(vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=96,
                         num_hidden_layers=2, num_attention_heads=N_HEAD,
                         num_key_value_heads=N_HEAD_KV, max_position_embeddings=128,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
                         bos_token_id=1, eos_token_id=2, pad_token_id=2)
    torch.manual_seed(1234)
    model = LlamaForCausalLM(config).float()
    # Norm weights of 1.0 would hide a missing multiply: make them distinct.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    model.save_pretrained(folder, safe_serialization=True)
    return model, vocab


def llama_cpp_permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py, LlamaModel.permute: HF split-halves rows → interleaved.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def main():
    os.makedirs(OUT, exist_ok=True)
    model_dir = os.path.join(OUT, "tiny-llama")
    model, vocab = make_model(model_dir)

    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                      "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(model, lcfg)
    torch.manual_seed(99)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            # A keeps PEFT's Kaiming init; B gets small values so that the
            # very first step already sends gradient into A.
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn_like(p))
    adapter_dir = os.path.join(OUT, "tiny-llama-adapter")
    peft_model.save_pretrained(adapter_dir)
    for extra in ("README.md",):
        if os.path.exists(os.path.join(adapter_dir, extra)):
            os.remove(os.path.join(adapter_dir, extra))

    # The same adapter with q/k B rows in GGUF order.
    gguf_dir = os.path.join(OUT, "tiny-llama-adapter-gguf-order")
    os.makedirs(gguf_dir, exist_ok=True)
    shutil.copy(os.path.join(adapter_dir, "adapter_config.json"), gguf_dir)
    tensors = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    for name in list(tensors):
        if name.endswith("q_proj.lora_B.weight"):
            tensors[name] = llama_cpp_permute(tensors[name], N_HEAD, N_HEAD)
        elif name.endswith("k_proj.lora_B.weight"):
            tensors[name] = llama_cpp_permute(tensors[name], N_HEAD, N_HEAD_KV)
    save_file({k: v.contiguous() for k, v in tensors.items()},
              os.path.join(gguf_dir, "adapter_model.safetensors"), metadata={"format": "pt"})

    # Training: fixed batches, loss on masked tokens only, AdamW, no dropout.
    rng = np.random.default_rng(7)
    seq, micro_batch, n_batches, steps = 16, 2, 2, 20
    ids = rng.integers(3, vocab, size=(n_batches * micro_batch, seq)).astype(np.int64)
    mask = np.zeros_like(ids)
    for i in range(mask.shape[0]):
        start = 4 + i  # "prompt" then "answer"
        mask[i, start:] = 1
    settings = dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
                    max_grad_norm=1.0, micro_batch=micro_batch, seq=seq, steps=steps,
                    rank=4, alpha=8.0)
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
        # mask[t] says whether token t is a target, predicted from tokens < t.
        labels = torch.where(m.bool(), x, torch.full_like(x, -100))
        out = peft_model(input_ids=x, labels=labels)
        opt.zero_grad()
        out.loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, settings["max_grad_norm"])
        opt.step()
        losses.append(out.loss.item())
        grad_norms.append(gn.item())

    with open(os.path.join(OUT, "peft-parity.json"), "w") as f:
        json.dump(dict(settings=settings, ids=ids.tolist(), mask=mask.tolist(),
                       losses=losses, grad_norms=grad_norms), f, indent=1)

    # Learning-rate schedules.
    cases = []
    for kind, fn in (("constant", get_constant_schedule_with_warmup),
                     ("linear", get_linear_schedule_with_warmup),
                     ("cosine", get_cosine_schedule_with_warmup)):
        for warmup, total in ((0, 10), (3, 10), (5, 37)):
            o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
            sched = fn(o, warmup) if kind == "constant" else fn(o, warmup, total)
            lrs = []
            for _ in range(total):
                lrs.append(o.param_groups[0]["lr"])
                o.step()
                sched.step()
            cases.append(dict(schedule=kind, base_lr=0.5, warmup=warmup, total=total, lrs=lrs))
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print("losses", losses)


if __name__ == "__main__":
    main()

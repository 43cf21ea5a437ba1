#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tiny Hugging Face model folders with transformers itself, and what
transformers reads from them, for tests/model/test-model.c.

Run from the source root:  python3 tests/model/make-hf-fixtures.py
Needs torch, transformers and tokenizers; the outputs are committed, so the
tests never need them.

tests/fixtures/model/hf-tiny-llama/  LlamaForCausalLM, tied embeddings, one
                                     safetensors file (save_pretrained)
tests/fixtures/model/hf-tiny-qwen2/  Qwen2ForCausalLM, untied, q/k/v biases,
                                     sharded into several files with an index
tests/fixtures/model/hf-expected.json  config values, parameter counts and
                                     a few weight rows as transformers sees them
"""
import json
import os

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast,
                          Qwen2Config, Qwen2ForCausalLM)

OUT = os.path.join("tests", "fixtures", "model")
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def byte_level_vocab():
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    # Order the 256 byte characters by the byte they stand for (GPT-2 order).
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, n = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + n)
            n += 1
    assert sorted(mapping.values()) == sorted(alphabet)
    vocab = {mapping[b]: b for b in range(256)}
    vocab["ab"] = 256
    return vocab


def tokenizer():
    tok = Tokenizer(models.BPE(vocab=byte_level_vocab(), merges=[("a", "b")]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # The special tokens follow the vocabulary: ids 257, 258, 259.
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>",
                                   eos_token="<|im_end|>", unk_token=None)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def rows(model, names):
    state = model.state_dict()
    out = []
    for name, row in names:
        t = state[name].to(torch.float32)
        t = t.reshape(1, -1) if t.dim() == 1 else t
        out.append({"tensor": name, "row": row, "values": [float(v) for v in t[row]]})
    return out


def facts(model):
    c = model.config
    return {
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "head_dim": getattr(c, "head_dim", c.hidden_size // c.num_attention_heads),
        "vocab_size": c.vocab_size,
        "max_position_embeddings": c.max_position_embeddings,
        "rms_norm_eps": c.rms_norm_eps,
        "rope_theta": c.rope_parameters["rope_theta"],
        "tie_word_embeddings": c.tie_word_embeddings,
        "num_parameters": model.num_parameters(),
        "generation_eos": model.generation_config.eos_token_id,
        "im_end_id": 259,
    }


def main():
    torch.manual_seed(20261123)
    expected = {}

    cfg = LlamaConfig(vocab_size=260, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=50000.0, tie_word_embeddings=True,
                      bos_token_id=258, eos_token_id=[259, 257])
    llama = LlamaForCausalLM(cfg).to(torch.bfloat16)
    path = os.path.join(OUT, "hf-tiny-llama")
    llama.save_pretrained(path)
    tok = tokenizer()
    assert tok.convert_tokens_to_ids(["ab", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [256, 257, 258, 259]
    tok.save_pretrained(path)
    expected["hf-tiny-llama"] = facts(llama)
    expected["hf-tiny-llama"]["rows"] = rows(llama, [
        ("model.embed_tokens.weight", 258), ("model.layers.1.self_attn.k_proj.weight", 15),
        ("model.layers.0.mlp.down_proj.weight", 31), ("model.norm.weight", 0)])

    cfg = Qwen2Config(vocab_size=260, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False,
                      use_sliding_window=False, bos_token_id=258, eos_token_id=259)
    qwen = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    with torch.no_grad():
        for layer in qwen.model.layers:   # biases start at zero; make them visible
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias.normal_(0.0, 0.1)
    path = os.path.join(OUT, "hf-tiny-qwen2")
    qwen.save_pretrained(path, max_shard_size="40KB")
    tokenizer().save_pretrained(path)
    expected["hf-tiny-qwen2"] = facts(qwen)
    expected["hf-tiny-qwen2"]["rows"] = rows(qwen, [
        ("lm_head.weight", 7), ("model.layers.1.self_attn.v_proj.bias", 0),
        ("model.layers.1.mlp.up_proj.weight", 63), ("model.layers.0.input_layernorm.weight", 0)])

    with open(os.path.join(OUT, "hf-expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    for name in ("hf-tiny-llama", "hf-tiny-qwen2"):
        folder = os.path.join(OUT, name)
        for file in os.listdir(folder):
            os.chmod(os.path.join(folder, file), 0o644)
        print(name, sorted(os.listdir(folder)))


if __name__ == "__main__":
    main()

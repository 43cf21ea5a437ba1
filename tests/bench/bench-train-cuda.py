#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""LoRA training speed and memory of Temper's CUDA backend against Hugging
Face transformers + PEFT on the same GPU, same model and same settings
(issue 6).  A benchmark, not a test: it prints figures and passes or fails
on nothing but errors.

    python3 tests/bench/bench-train-cuda.py --shape 7b [--seq 2048] [--batch 1]
        [--rank 16] [--steps 5] [--work /tmp/temper-bench] [--peak-tflops T]

It writes a Llama-architecture model with random bf16 weights in the shape
asked for (1b: Llama 3.2 1B, 7b: Llama 2 7B, tiny: a few MB for trying the
script on a CPU) as a Hugging Face folder (config.json, model.safetensors,
a byte-level tokenizer.json) under --work, once; then runs

  * `temper-cli bench train MODEL --backend cuda --seq S --batch B --rank R`
  * transformers + PEFT: bf16 weights, LoRA rank R (alpha 2R) on all linear
    layers, no dropout, AdamW on the adapter, random tokens with the loss on
    every token, one untimed warm-up step (as temper-cli does)

and prints tokens/s, model-FLOPs utilisation and peak GPU memory of both.
FLOPs per token are counted alike for both sides: 4 × frozen matmul
parameters + 6 × adapter parameters + causal attention (6 × layers ×
n_head·head_dim × sequence length).  The GPU's peak dense bf16 FLOP/s comes
from --peak-tflops or, for the GPUs in PEAK_TFLOPS, from its name.

Needs torch with CUDA, transformers, peft, safetensors and tokenizers, and a
temper-cli built with CUDA (--temper-cli, default build/app/cli/temper-cli).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import torch

SHAPES = {
    # name: hidden, intermediate, layers, heads, kv heads, vocab, tied embeddings
    "tiny": (256, 688, 2, 8, 4, 4096, False),
    "1b": (2048, 8192, 16, 32, 8, 128256, True),
    "7b": (4096, 11008, 32, 32, 32, 32000, False),
}

# Dense bf16 tensor-core peaks (no sparsity), TFLOP/s, as NVIDIA lists them;
# GeForce cards at their fp32-accumulate rate.  The same table as
# temper_device_peak_tflops() in engine/registry/temper-backend-open.c, most
# specific names first.
PEAK_TFLOPS = [
    ("H200", 989.4), ("GH200", 989.4), ("H100 NVL", 835.0), ("H100 PCIe", 756.0),
    ("H100", 989.4), ("H800", 989.4), ("A100", 312.0), ("A800", 312.0), ("L40S", 362.05),
    ("L40", 181.05), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0), ("RTX 6000 Ada", 364.2),
    ("RTX 4090", 165.2), ("RTX 4080", 97.5), ("RTX 3090", 35.6),
]


def write_tokenizer(path, vocab_size):
    """A byte-level BPE with no merges: the 256 byte symbols, then fillers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0}
    for symbol in alphabet:
        vocab[symbol] = len(vocab)
    while len(vocab) < vocab_size:
        vocab[f"<|filler{len(vocab)}|>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.save(path)


def make_model(folder, shape):
    """Writes the random-weight model once; returns its config as a dict."""
    from safetensors.torch import save_file

    hidden, ff, layers, heads, kv_heads, vocab, tied = SHAPES[shape]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hidden, "intermediate_size": ff, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "vocab_size": vocab,
        "head_dim": hidden // heads, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": tied, "bos_token_id": 0,
        "eos_token_id": 0, "hidden_act": "silu", "torch_dtype": "bfloat16",
    }
    weights = os.path.join(folder, "model.safetensors")
    if os.path.exists(weights):
        return config
    os.makedirs(folder, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    hd = hidden // heads

    def rand(*shape_):
        return (torch.randn(*shape_, generator=gen) * 0.02).to(torch.bfloat16)

    tensors = {"model.embed_tokens.weight": rand(vocab, hidden),
               "model.norm.weight": torch.ones(hidden, dtype=torch.bfloat16)}
    if not tied:
        tensors["lm_head.weight"] = rand(vocab, hidden)
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        tensors[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.bfloat16)
        tensors[p + "self_attn.q_proj.weight"] = rand(heads * hd, hidden)
        tensors[p + "self_attn.k_proj.weight"] = rand(kv_heads * hd, hidden)
        tensors[p + "self_attn.v_proj.weight"] = rand(kv_heads * hd, hidden)
        tensors[p + "self_attn.o_proj.weight"] = rand(hidden, heads * hd)
        tensors[p + "mlp.gate_proj.weight"] = rand(ff, hidden)
        tensors[p + "mlp.up_proj.weight"] = rand(ff, hidden)
        tensors[p + "mlp.down_proj.weight"] = rand(hidden, ff)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_tokenizer(os.path.join(folder, "tokenizer.json"), vocab)
    save_file(tensors, weights + ".part", metadata={"format": "pt"})
    os.replace(weights + ".part", weights)
    return config


def flops_per_token(config, adapter_params, seq):
    """The count temper-cli bench train uses (TemperTrainBenchResult)."""
    e, f, n = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    q = config["num_attention_heads"] * config["head_dim"]
    kv = config["num_key_value_heads"] * config["head_dim"]
    frozen = n * (e * (q + 2 * kv) + q * e + 3 * e * f) + e * config["vocab_size"]
    return 4 * frozen + 6 * adapter_params + 6 * n * q * seq


def run_temper(args, folder, peak):
    cmd = [args.temper_cli, "bench", "train", folder, "--backend", args.backend,
           "--seq", str(args.seq), "--batch", str(args.batch), "--rank", str(args.rank),
           "--steps", str(args.steps)]
    if peak:
        cmd += ["--peak-tflops", str(peak)]
    if args.recompute:
        cmd.append("--recompute")
    print("$", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        return None
    fields = {}
    for key, pattern in (("tokens_per_s", r"tokens/s:\s+([\d.]+)"),
                         ("params", r"trainable params:\s+(\d+)"),
                         ("peak_mib", r"peak GPU memory:\s+([\d.]+) MiB")):
        m = re.search(pattern, out.stdout)
        fields[key] = float(m.group(1)) if m else None
    return fields


def run_peft(args, folder, device):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.bfloat16,
                                                 attn_implementation="sdpa").to(device)
    if args.recompute:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    lora = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, bias="none",
                      task_type="CAUSAL_LM", target_modules="all-linear")
    model = get_peft_model(model, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = None
    for step in range(args.steps + 1):
        if step == 1:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"tokens_per_s": args.batch * args.seq * args.steps / seconds,
            "params": sum(p.numel() for p in params), "peak_mib": peak}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--recompute", action="store_true",
                    help="activation recomputation on both sides (gradient checkpointing in HF)")
    ap.add_argument("--work", default="/tmp/temper-bench")
    ap.add_argument("--temper-cli", default="build/app/cli/temper-cli")
    ap.add_argument("--backend", default="cuda", help="temper-cli's backend (cpu to try the script)")
    ap.add_argument("--hf-device", default="cuda", help="torch device for PEFT (cpu to try the script)")
    ap.add_argument("--peak-tflops", type=float, default=0.0)
    ap.add_argument("--skip-peft", action="store_true")
    args = ap.parse_args()

    folder = os.path.join(args.work, f"llama-{args.shape}-random")
    print(f"writing or reusing {folder}", flush=True)
    config = make_model(folder, args.shape)

    device = torch.device(args.hf_device)
    peak = args.peak_tflops
    gpu = "CPU"
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
        if not peak:
            peak = next((t for name, t in PEAK_TFLOPS if name in gpu), 0.0)
        print(f"GPU: {gpu}, driver CUDA {torch.version.cuda}, peak {peak or 'unknown'} TFLOP/s")

    rows = []
    temper = run_temper(args, folder, peak)
    if temper is not None:
        rows.append(("temper " + args.backend, temper))
    if not args.skip_peft:
        rows.append(("transformers+PEFT", run_peft(args, folder, device)))

    print()
    print(f"{args.shape} shape, seq {args.seq}, micro-batch {args.batch}, rank {args.rank} "
          f"all-linear, bf16 weights, {args.steps} timed steps, on {gpu}"
          + (", recomputation" if args.recompute else ""))
    print(f"{'':20} {'tokens/s':>10} {'MFU':>7} {'peak GiB':>9} {'adapter params':>15}")
    for name, r in rows:
        flops = flops_per_token(config, int(r["params"]), args.seq)
        mfu = f"{100 * r['tokens_per_s'] * flops / (peak * 1e12):6.1f}%" if peak else "    n/a"
        mem = f"{r['peak_mib'] / 1024:9.2f}" if r["peak_mib"] else "      n/a"
        print(f"{name:20} {r['tokens_per_s']:10.1f} {mfu:>7} {mem} {int(r['params']):15d}")
    if len(rows) == 2:
        print(f"temper / PEFT tokens/s: {rows[0][1]['tokens_per_s'] / rows[1][1]['tokens_per_s']:.2f}x")
    return 0 if temper is not None else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch + PEFT LoRA training speed on the CPU, to compare with
`temper-cli bench train` under the same settings.

    python3 tests/bench/bench-train-peft.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        [--seq 256] [--batch 4] [--rank 16] [--steps 3] [--threads 2] [--gradient-checkpointing]

transformers loads the GGUF file dequantised to float32.  Random tokens, the
loss on every token, AdamW, LoRA on all linear layers, no dropout; one
warm-up step that is not timed.  Prints tokens/s and the peak resident memory.
"""
import argparse
import os
import platform
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def print_environment(threads):
    """What tells two sittings apart: processor, load, versions, threads."""
    import peft
    import transformers
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    print(f"processor:        {cpu}, {os.cpu_count()} logical cores")
    print("load average:     %.2f %.2f %.2f" % os.getloadavg())
    print(f"system:           {platform.system()} {platform.release()} {platform.machine()}, "
          f"Python {platform.python_version()}")
    print(f"versions:         torch {torch.__version__}, transformers {transformers.__version__}, "
          f"peft {peft.__version__}")
    print(f"torch threads:    {torch.get_num_threads()} (asked {threads}), "
          f"interop {torch.get_num_interop_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print(f"torch CPU kernels: {torch.backends.cpu.get_cpu_capability()}, "
          f"MKL {'yes' if torch.backends.mkl.is_available() else 'no'}, "
          f"oneDNN {'yes' if torch.backends.mkldnn.is_available() else 'no'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gradient-checkpointing", action="store_true",
                    help="recompute activations in the backward pass (to compare with "
                         "temper-cli bench train --recompute)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    print_environment(args.threads)
    torch.manual_seed(0)
    folder, name = os.path.split(os.path.abspath(args.model))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, bias="none",
                        task_type="CAUSAL_LM", target_modules="all-linear")
    if args.gradient_checkpointing:
        # Non-reentrant checkpointing needs no input that requires grad.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(model, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq))

    start = None
    for step in range(args.steps + 1):
        if step == 1:
            start = time.perf_counter()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n_params = sum(p.numel() for p in params)
    print(f"settings:         seq {args.seq}, micro-batch {args.batch}, rank {args.rank}, "
          f"all-linear, {args.steps} timed steps, {args.threads} threads"
          f"{', gradient checkpointing' if args.gradient_checkpointing else ''}")
    print(f"trainable params: {n_params}")
    print(f"seconds per step: {seconds / args.steps:.2f}")
    print(f"tokens/s:         {args.batch * args.seq * args.steps / seconds:.1f}")
    print(f"peak RSS:         {peak / 1048576:.1f} MiB")


if __name__ == "__main__":
    main()

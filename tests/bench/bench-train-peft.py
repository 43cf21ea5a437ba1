#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PyTorch + PEFT LoRA training speed on the CPU, to compare with
`temper-cli bench train` under the same settings.

    python3 tests/bench/bench-train-peft.py data/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        [--seq 256] [--batch 4] [--rank 16] [--steps 3] [--threads 2] [--gradient-checkpointing] \
        [--config-from-gguf | --config CONFIG.json] [--json]

transformers loads the GGUF file dequantised to float32.  With
--config-from-gguf it reads only the file's settings and builds the same
architecture with random float32 weights (speed does not depend on the
values; transformers cannot dequantise every type, and a large model loads
much faster); with --config MODEL it builds the architecture a Hugging Face
config.json (or a folder holding one) describes, for shapes there is no
file of, e.g. a Qwen2.5-0.5B.  Random tokens, the
loss on every token, AdamW, LoRA on all linear layers, no dropout; one
warm-up step that is not timed.  Prints, as `temper-cli bench train` does,
what tells two sittings apart (processor and its flags, cores, threads and
the CPUs they may run on, load, versions of torch, transformers, PEFT, MKL,
oneDNN, the shapes), then tokens/s and the peak resident memory.
"""
import argparse
import json
import os
import platform
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM


# The /proc/cpuinfo flags that tell compute paths apart (as temper-cli prints them).
INTERESTING_FLAGS = ["avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
                     "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16"]


def cpu_facts():
    """Processor name, its interesting flags, physical cores."""
    name, flags = "unknown", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == "unknown":
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    have = set(line.split(":", 1)[1].split())
                    flags = [f for f in INTERESTING_FLAGS if f in have]
    except OSError:
        pass
    cores = set()
    for cpu in range(os.cpu_count() or 0):
        topo = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        try:
            with open(f"{topo}/physical_package_id") as a, open(f"{topo}/core_id") as b:
                cores.add((a.read().strip(), b.read().strip()))
        except OSError:
            pass
    return name, flags, len(cores)


def cpu_list(cpus):
    """{0, 1, 2, 5} as "0-2,5"."""
    out, cpus = [], sorted(cpus)
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)


def library_line(config, marker):
    """The line of torch's build description that names @marker."""
    for line in config.splitlines():
        if marker in line:
            return line.strip(" -")
    return "none"


def environment(args):
    """What tells two sittings apart: processor, load, versions, threads, shapes."""
    import peft
    import transformers
    name, flags, physical = cpu_facts()
    config = torch.__config__.show()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    facts = [
        ("processor", "cpu", name),
        ("cores", "cores", f"{os.cpu_count()} logical, {physical} physical"),
        ("CPU flags", "cpu_flags", " ".join(flags)),
        ("torch uses", "torch_cpu_capability",
         f"{torch.backends.cpu.get_cpu_capability()} (its widest usable vector kernels)"),
        ("threads", "threads",
         f"torch {torch.get_num_threads()} (asked {args.threads}), interop "
         f"{torch.get_num_interop_threads()}, not pinned: the OS places them on CPUs "
         f"{cpu_list(affinity)} ({len(affinity)} allowed); OMP_NUM_THREADS="
         f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, MKL_NUM_THREADS="
         f"{os.environ.get('MKL_NUM_THREADS', 'unset')}"),
        ("load average", "load_average", "%.2f %.2f %.2f (busy machines give lower figures)"
         % os.getloadavg()),
        ("system", "system", f"{platform.system()} {platform.release()} {platform.machine()}, "
                             f"Python {platform.python_version()}"),
        ("versions", "versions", f"torch {torch.__version__}, transformers "
                                 f"{transformers.__version__}, peft {peft.__version__}"),
        ("torch BLAS", "torch_mkl", library_line(config, "Math Kernel Library")
         if torch.backends.mkl.is_available() else "no MKL"),
        ("torch oneDNN", "torch_onednn", library_line(config, "MKL-DNN")
         if torch.backends.mkldnn.is_available() else "no oneDNN"),
        ("torch parallel", "torch_parallel",
         library_line(torch.__config__.parallel_info(), "ATen parallel backend")),
        ("settings", "settings",
         f"seq {args.seq}, micro-batch {args.batch}, rank {args.rank}, all-linear, recompute "
         f"{'on (gradient checkpointing)' if args.gradient_checkpointing else 'off'}, "
         f"{args.steps} timed steps, float32 weights"),
    ]
    return facts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="a GGUF file (or, with --config, a name to print)")
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gradient-checkpointing", action="store_true",
                    help="recompute activations in the backward pass (to compare with "
                         "temper-cli bench train --recompute)")
    ap.add_argument("--config-from-gguf", action="store_true",
                    help="build the GGUF file's architecture with random weights instead of loading them")
    ap.add_argument("--config", metavar="CONFIG",
                    help="build the architecture of this Hugging Face config.json (or folder) with random weights")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    facts = environment(args)
    if not args.json:
        for label, _, value in facts:
            print(f"{label + ':':17} {value}")
    torch.manual_seed(0)
    folder, name = os.path.split(os.path.abspath(args.model))
    if args.config or args.config_from_gguf:
        if args.config:
            model_config = AutoConfig.from_pretrained(args.config)
        else:
            model_config = AutoConfig.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_config(model_config, dtype=torch.float32)
        weights = "random (architecture from %s)" % (args.config or "the GGUF file")
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        weights = "the GGUF file's, dequantised to float32"
    shapes = model.config
    shape_line = ("%s, %d layers, hidden %d, FFN %d, %d heads (%d KV), head dim %d, vocabulary %d, "
                  "tied embeddings %s" % (shapes.model_type, shapes.num_hidden_layers, shapes.hidden_size,
                                          shapes.intermediate_size, shapes.num_attention_heads,
                                          getattr(shapes, "num_key_value_heads", shapes.num_attention_heads),
                                          getattr(shapes, "head_dim", None) or
                                          shapes.hidden_size // shapes.num_attention_heads,
                                          shapes.vocab_size, getattr(shapes, "tie_word_embeddings", False)))
    if not args.json:
        print(f"{'weights:':17} {weights}")
        print(f"{'model shape:':17} {shape_line}")
        print(f"{'attention:':17} {model.config._attn_implementation}")
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
    results = {
        "trainable_params": n_params,
        "seconds_per_step": seconds / args.steps,
        "tokens_per_s": args.batch * args.seq * args.steps / seconds,
        "peak_rss_bytes": peak,
        "load_average_after": "%.2f %.2f %.2f" % os.getloadavg(),
    }
    if args.json:
        report = {key: value for _, key, value in facts}
        report.update(weights=weights, model_shape=shape_line,
                      attention=model.config._attn_implementation, seq=args.seq, micro_batch=args.batch, rank=args.rank, targets="all-linear",
                      recompute=args.gradient_checkpointing, steps=args.steps, **results)
        print(json.dumps(report, indent=2))
        return
    print(f"trainable params: {n_params}")
    print(f"seconds per step: {seconds / args.steps:.2f}")
    print(f"tokens/s:         {args.batch * args.seq * args.steps / seconds:.1f}")
    print(f"peak RSS:         {peak / 1048576:.1f} MiB")
    print(f"load average:     {results['load_average_after']} (after)")


if __name__ == "__main__":
    main()

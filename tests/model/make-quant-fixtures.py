#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the golden fixtures for tests/model from the `gguf` Python package.

Run from the source root:  python3 tests/model/make-quant-fixtures.py
Needs numpy and gguf (pip install gguf).  The outputs are committed, so the
tests themselves never need Python.

Files written to tests/fixtures/model/:
  quant-<TYPE>.bin      quantized bytes of ROWS rows of N values
  quant-<TYPE>.f32      the same rows dequantized by gguf.quants (float32 LE)
                        (random blocks for the K-quants, IQ4_NL, IQ4_XS, TQ2_0)
  quant-<TYPE>.src.f32  for types gguf-py can quantize: the float input it was
                        quantized from (so Temper's quantizer can be compared
                        byte for byte)
  f16-cases.bin         float32 inputs, then numpy's float16 bits for them
  bf16-cases.bin        float32 inputs, then gguf-py's bfloat16 bits for them
  demo-model.json       facts gguf-py's GGUFReader reads from the demo model,
                        plus a few dequantized rows (only if the model exists)
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

ROWS = 2
N = 512
OUT = os.path.join("tests", "fixtures", "model")
DEMO = os.path.join("data", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

rng = np.random.default_rng(20261123)


def source_rows():
    x = rng.standard_normal((ROWS, N)).astype(np.float32)
    # Give the blocks different magnitudes, a constant block and a zero block
    # so that the scale and zero-scale paths are both exercised.
    x[0, :32] *= 40.0
    x[0, 32:64] = 0.0
    x[1, 64:96] = 3.25
    x[1, 256:512] *= 0.01
    return x


def random_k_blocks(qtype, n_blocks):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    d = rng.uniform(1e-3, 2e-2, size=(n_blocks,)).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    dmin = rng.uniform(1e-3, 2e-2, size=(n_blocks,)).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    if qtype in (T.Q4_K, T.Q5_K):
        b[:, 0:2] = d
        b[:, 2:4] = dmin
    elif qtype == T.Q6_K:
        b[:, block_bytes - 2:] = d
    return b


def random_scaled_blocks(qtype, n_blocks):
    """Random bytes, with each block's fp16 scales set to small positive
    values where ggml puts them (FORMATS.md §2.1) so no block decodes to
    NaN, Inf or huge numbers."""
    block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
    b = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)

    def f16(lo, hi):
        return rng.uniform(lo, hi, size=(n_blocks,)).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)

    if qtype == T.Q2_K:          # scales[16], qs[64], d, dmin
        b[:, 80:82] = f16(1e-3, 2e-2)
        b[:, 82:84] = f16(1e-3, 2e-2)
    elif qtype == T.Q3_K:        # hmask[32], qs[64], scales[12], d
        b[:, 108:110] = f16(1e-3, 2e-2)
    elif qtype in (T.IQ4_NL, T.IQ4_XS):   # d first
        b[:, 0:2] = f16(1e-4, 2e-3)
    elif qtype == T.TQ2_0:       # qs[64], d
        b[:, 64:66] = f16(1e-3, 2e-2)
    return b


def write(name, array):
    path = os.path.join(OUT, name)
    np.ascontiguousarray(array).tofile(path)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    os.makedirs(OUT, exist_ok=True)

    for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        x = source_rows()
        q = quants.quantize(x, qtype)
        write(f"quant-{qtype.name}.src.f32", x)
        write(f"quant-{qtype.name}.bin", q)
        write(f"quant-{qtype.name}.f32", quants.dequantize(q, qtype).astype(np.float32))

    # Q8_1 has no gguf-py codec (and gguf-py's size table still lists the old
    # 40-byte layout); ggml's block is d, s (fp16) + 32 int8.  Build it from
    # Q8_0 blocks and dequantize with plain numpy: y = d * q.
    x = source_rows()
    q80 = quants.quantize(x, T.Q8_0).reshape(-1, 34)
    d = q80[:, 0:2].copy().view(np.float16).astype(np.float32)
    qs = q80[:, 2:].view(np.int8)
    s = (d[:, 0] * qs.astype(np.float32).sum(axis=1)).astype(np.float16).view(np.uint8).reshape(-1, 2)
    q81 = np.concatenate([q80[:, 0:2], s, q80[:, 2:]], axis=1)
    write("quant-Q8_1.bin", q81)
    write("quant-Q8_1.f32", (d * qs.astype(np.float32)).reshape(ROWS, N))

    for qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
        blocks = random_k_blocks(qtype, ROWS * N // 256)
        write(f"quant-{qtype.name}.bin", blocks)
        write(f"quant-{qtype.name}.f32",
              quants.dequantize(blocks.reshape(ROWS, -1), qtype).astype(np.float32))
    for qtype in (T.F16, T.BF16):
        x = source_rows()
        q = quants.quantize(x, qtype)
        write(f"quant-{qtype.name}.bin", q)
        write(f"quant-{qtype.name}.f32", quants.dequantize(q, qtype).astype(np.float32))

    # Edge cases for the 16-bit conversions.
    edges = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6,
             np.inf, -np.inf, np.nan, 6.103515625e-05, 6.1e-05, 5.960464477539063e-08,
             2.98023223876953125e-08, 2.9802326e-08, 1e-9, 1.00048828125, 1.000732421875,
             1.0009765625, 3.14159265, -2.71828, 0.1, 1e-4, 2049.0, 2051.0, 4097.0,
             3.0517578125e-05, 1.5e-07, -1.5e-07]
    x = np.concatenate([np.array(edges, dtype=np.float32),
                        rng.standard_normal(500).astype(np.float32) * np.float32(1000.0),
                        rng.standard_normal(500).astype(np.float32) * np.float32(1e-5)])
    write("f16-cases.bin", np.concatenate([x.view(np.uint32), x.astype(np.float16).view(np.uint16).astype(np.uint32)]))
    bf = quants.quantize(x, T.BF16).view(np.uint16).astype(np.uint32)
    write("bf16-cases.bin", np.concatenate([x.view(np.uint32), bf]))

    # The types llama.cpp's Q2_K, Q3_K_S/M/L, IQ4_NL, IQ4_XS and TQ2_0 files
    # hold: random blocks with sane scales (gguf-py cannot quantize most of
    # them), dequantized by gguf.quants.  Drawn after everything above so
    # that the older fixtures stay byte for byte the same.
    for qtype in (T.Q2_K, T.Q3_K, T.IQ4_NL, T.IQ4_XS, T.TQ2_0):
        block_elems = gguf.GGML_QUANT_SIZES[qtype][0]
        blocks = random_scaled_blocks(qtype, ROWS * N // block_elems)
        write(f"quant-{qtype.name}.bin", blocks)
        write(f"quant-{qtype.name}.f32",
              quants.dequantize(blocks.reshape(ROWS, -1), qtype).astype(np.float32))

    if os.path.exists(DEMO):
        demo_facts()
    else:
        print("demo model not found; demo-model.json left as it is", file=sys.stderr)


def demo_facts():
    r = gguf.GGUFReader(DEMO)
    facts = {
        "n_tensors": len(r.tensors),
        "n_kv": len(r.fields) - 3,  # GGUFReader adds GGUF.version, tensor_count, kv_count
        "data_offset": int(r.data_offset),
        "alignment": int(r.alignment),
        "strings": {},
        "u32": {},
        "f32": {},
        "tensors": {},
        "rows": [],
    }
    for key in ("general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre"):
        f = r.fields[key]
        facts["strings"][key] = bytes(f.parts[f.data[0]]).decode("utf-8")
    for key in ("llama.block_count", "llama.embedding_length", "llama.attention.head_count",
                "llama.attention.head_count_kv", "llama.feed_forward_length", "llama.context_length",
                "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "general.file_type"):
        if key in r.fields:
            f = r.fields[key]
            facts["u32"][key] = int(f.parts[f.data[0]][0])
    for key in ("llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon"):
        f = r.fields[key]
        facts["f32"][key] = float(f.parts[f.data[0]][0])
    tokens = r.fields["tokenizer.ggml.tokens"]
    facts["n_vocab_tokens"] = len(tokens.data)
    facts["token_2"] = bytes(tokens.parts[tokens.data[2]]).decode("utf-8")
    for t in r.tensors:
        facts["tensors"][t.name] = {"type": int(t.tensor_type), "ne": [int(v) for v in t.shape],
                                    "offset": int(t.data_offset - r.data_offset)}
    for name, row in (("token_embd.weight", 1), ("blk.0.attn_q.weight", 5),
                      ("blk.29.ffn_down.weight", 575), ("output_norm.weight", 0)):
        t = next(t for t in r.tensors if t.name == name)
        data = quants.dequantize(t.data, t.tensor_type)
        data = data.reshape(-1, int(t.shape[0]))
        facts["rows"].append({"tensor": name, "row": row,
                              "values": [float(v) for v in data[row]]})
    path = os.path.join(OUT, "demo-model.json")
    with open(path, "w") as f:
        json.dump(facts, f, indent=0)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()

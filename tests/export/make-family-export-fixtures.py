#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""References for test-export-families: Temper's exports of every family's
tiny model (tests/fixtures/families) loaded by PEFT, transformers and
llama.cpp, which are independent of Temper.

Runs BUILD_DIR/tests/export/write-family-exports (the PEFT adapter, the GGUF
LoRA and the merged Hugging Face folder of the HF model with the adapter of
family-export-util.h; the merged F16 GGUF of the GGUF model with its own),
then records in tests/fixtures/export/families/<family>.json:

  peft_logits, peft_greedy      PeftModel.from_pretrained on the HF model
  merged_hf_logits              transformers on Temper's merged folder
  merged_hf_max_error           Temper's merged weights vs PEFT's
                                merge_and_unload(), max |Δ| / max |w|
  lora_logits, lora_greedy      llama.cpp: the family's GGUF + Temper's LoRA
  merged_logits, merged_greedy  llama.cpp: Temper's merged GGUF

and for the merges that change format (the GGUF model with its adapter
merged into a Hugging Face folder, the Hugging Face model with its adapter
merged into a GGUF):

  gguf_peft_logits, _greedy     PEFT on the HF model with the GGUF model's
                                adapter (exported as PEFT): what the merged
                                folder must answer
  cross_hf_logits, _greedy      transformers on Temper's merged folder made
                                from the GGUF model
  cross_hf_max_error            its weights vs PEFT's merge_and_unload()
  cross_logits, cross_greedy    llama.cpp: Temper's merged F16 GGUF made from
                                the HF model

Usage (from the source root, with torch, transformers, peft, safetensors):
  tests/export/make-family-export-fixtures.py BUILD_DIR LLAMA_CPP_DIR [FAMILY…]
LLAMA_CPP_DIR holds the llama.cpp source in src/ and its CMake build in
build/ (libllama), or in the folder named by LLAMA_CPP_BUILD (on a CPU whose
AMX the VM traps, /work/llama.cpp's build-noamx); tests/export/llama-cpp-logits.c
is compiled against it.
With "-" instead, the llama.cpp references are left out (the test then
checks PEFT and transformers only).
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
FAMILIES = os.path.join(SOURCE, "tests", "fixtures", "families")
OUT = os.path.join(SOURCE, "tests", "fixtures", "export", "families")
N_GREEDY = 12


def rounded(values):
    return [round(float(x), 6) for x in values]


def answer(model, prompt):
    with torch.no_grad():
        ids = torch.tensor([prompt])
        logits = model(ids).logits[0, -1].double()
        out = model.generate(ids, max_new_tokens=N_GREEDY, do_sample=False,
                             attention_mask=torch.ones_like(ids))
    return logits, out[0, len(prompt):].tolist()


def llama_cpp_tool(llama_cpp, work):
    tool = os.path.join(work, "llama-cpp-logits")
    lib = os.path.join(llama_cpp, os.environ.get("LLAMA_CPP_BUILD", "build"), "bin")
    subprocess.run(["cc", "-O2", "-o", tool, os.path.join(HERE, "llama-cpp-logits.c"),
                    "-I", os.path.join(llama_cpp, "src", "include"),
                    "-I", os.path.join(llama_cpp, "src", "ggml", "include"),
                    "-L", lib, "-lllama", "-lggml", "-lggml-base", "-Wl,-rpath," + lib], check=True)
    return tool


def renamed_for_llama_cpp(path, work):
    """A copy of @path whose general.name no longer says Phi-3: for a model
    named so, llama.cpp looks up Phi-3's "</s>", "<unk>" and "<s>" tokens,
    which the tiny fixture's trained vocabulary lacks (it then fails with
    "unordered_map::at").  Only the name's letters change."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    key = b"general.name"
    at = data.find(key)
    if at < 0:
        return path
    value = at + len(key) + 4 + 8          # value type (u32), string length (u64)
    length = int.from_bytes(data[value - 8:value], "little")
    name = bytes(data[value:value + length])
    if b"phi3" not in name.lower() and b"phi-3" not in name.lower():
        return path
    data[value:value + length] = b"x" * length
    out = os.path.join(work, "renamed-" + os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path))
    with open(out, "wb") as f:
        f.write(data)
    return out


def llama_cpp(tool, model, lora, prompt):
    """llama.cpp's answer, or the message it refused the files with."""
    run = subprocess.run([tool, model, lora or "-", str(N_GREEDY)] + [str(t) for t in prompt],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[0] if run.stderr.strip() else "failed"}
    return json.loads(run.stdout)


def max_weight_error(reference, path, family):
    """max |Δ| / max |w| over every tensor of a merged folder."""
    merged = load_file(os.path.join(path, "model.safetensors"))
    worst = 0.0
    for name, ref in reference.items():
        if name not in merged:
            # transformers 5 holds a mixture of experts' experts fused
            # (mlp.experts.gate_up_proj) and Mixtral's router as mlp.gate;
            # the files keep one tensor per expert, which the logits check.
            assert name == "lm_head.weight" or ".experts." in name or name.endswith(".mlp.gate.weight"), \
                f"{family}: {name} missing from {path}"
            continue
        mine = merged[name].to(torch.float32)
        worst = max(worst, ((mine - ref).abs().max() / ref.abs().max().clamp(min=1e-12)).item())
    return worst


def cross_format(family, exports, prompt, record):
    """The merges that change format, on the transformers side: PEFT with the
    GGUF model's adapter on the HF model, and transformers on Temper's
    folder merged from the GGUF model."""
    hf = os.path.join(FAMILIES, family)
    base = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32).eval()
    base_logits, _ = answer(base, prompt)
    peft = PeftModel.from_pretrained(base, os.path.join(exports, "gguf-peft")).eval()
    peft_logits, peft_greedy = answer(peft, prompt)
    change = ((peft_logits - base_logits).norm() / peft_logits.norm()).item()
    assert change > 0.02, f"{family}: the GGUF model's adapter should change the answer ({change})"
    worst = max_weight_error(peft.merge_and_unload().state_dict(), os.path.join(exports, "cross-hf"), family)
    assert worst < 1e-5, f"{family}: the folder merged from the GGUF differs from PEFT's merge by {worst}"
    # Its tokenizer (rebuilt from the GGUF's vocabulary) splits text as the
    # family's own tokenizer does.
    with open(os.path.join(FAMILIES, family + ".json")) as f:
        meta = json.load(f)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(exports, "cross-hf"))
    ids = tokenizer(meta["tokenizer_text"], add_special_tokens=False)["input_ids"]
    assert ids == meta["tokenizer_ids"], f"{family}: the folder merged from the GGUF tokenizes {ids}"
    cross = AutoModelForCausalLM.from_pretrained(os.path.join(exports, "cross-hf"), dtype=torch.float32).eval()
    cross_logits, cross_greedy = answer(cross, prompt)
    error = ((cross_logits - peft_logits).norm() / peft_logits.norm()).item()
    assert error < 1e-4, f"{family}: transformers on the folder merged from the GGUF vs PEFT: {error}"
    record.update(gguf_peft_logits=rounded(peft_logits), gguf_peft_greedy=peft_greedy,
                  cross_hf_logits=rounded(cross_logits), cross_hf_greedy=cross_greedy,
                  cross_hf_max_error=worst)
    return (f"; GGUF->HF: transformers vs PEFT {error:.2e}, weights {worst:.2e}, "
            f"greedy equal {cross_greedy == peft_greedy}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, llama_dir, only = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        tool = llama_cpp_tool(os.path.abspath(llama_dir), work) if llama_dir != "-" else None
        env = dict(os.environ, TEMPER_SOURCE_DIR=SOURCE)
        subprocess.run([os.path.join(build, "tests", "export", "write-family-exports"), work] + only,
                       check=True, env=env)
        for family in sorted(os.listdir(work)):
            exports = os.path.join(work, family)
            if not os.path.isdir(exports):
                continue
            with open(os.path.join(FAMILIES, family + ".json")) as f:
                prompt = json.load(f)["prompt"]
            hf = os.path.join(FAMILIES, family)
            base = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32).eval()
            base_logits, _ = answer(base, prompt)
            peft = PeftModel.from_pretrained(base, os.path.join(exports, "peft")).eval()
            peft_logits, peft_greedy = answer(peft, prompt)
            change = ((peft_logits - base_logits).norm() / peft_logits.norm()).item()
            assert change > 0.02, f"{family}: the adapter should change the answer ({change})"

            reference = peft.merge_and_unload().state_dict()
            worst = max_weight_error(reference, os.path.join(exports, "merged-hf"), family)
            assert worst < 1e-5, f"{family}: merged weights differ from PEFT's merge by {worst}"
            merged_model = AutoModelForCausalLM.from_pretrained(os.path.join(exports, "merged-hf"),
                                                                dtype=torch.float32).eval()
            merged_logits, merged_hf_greedy = answer(merged_model, prompt)

            record = {
                "source": "tests/export/make-family-export-fixtures.py (peft, transformers, "
                          "llama.cpp from llama-cpp-python's sdist, CPU, F32 KV cache, no flash attention)",
                "prompt": prompt,
                "base_logits": rounded(base_logits),
                "peft_logits": rounded(peft_logits),
                "peft_greedy": peft_greedy,
                "merged_hf_logits": rounded(merged_logits),
                "merged_hf_max_error": worst,
            }
            cross_line = cross_format(family, exports, prompt, record)
            line = (f"{family}: adapter changes logits by {change:.3e}; merged HF weights vs PEFT "
                    f"{worst:.2e}; greedy merged HF == PEFT {merged_hf_greedy == peft_greedy}" + cross_line)
            if tool is not None:
                base_path = renamed_for_llama_cpp(os.path.join(FAMILIES, family + ".gguf"), work)
                merged_path = renamed_for_llama_cpp(os.path.join(exports, "merged.gguf"), work)
                lora = llama_cpp(tool, base_path, os.path.join(exports, "lora.gguf"), prompt)
                merged_gguf = llama_cpp(tool, merged_path, None, prompt)
                base_gguf = llama_cpp(tool, base_path, None, prompt)
                if "error" in base_gguf:
                    # The family's own GGUF (from llama.cpp's converter) does
                    # not load: nothing of Temper's can be checked there.
                    line += f"; llama.cpp cannot load the family's base GGUF: {base_gguf['error']}"
                    record["llama_cpp_refuses_base"] = base_gguf["error"]
                    print(line)
                    with open(os.path.join(OUT, family + ".json"), "w") as f:
                        json.dump(record, f)
                        f.write("\n")
                    continue
                base_error = ((torch.tensor(base_gguf["logits"], dtype=torch.float64) - base_logits).norm()
                              / base_logits.norm()).item()
                if base_error > 1e-2:
                    # llama.cpp computes the base itself otherwise (Phi-3.5's
                    # LongRoPE: it takes the long factors whenever its context,
                    # padded to 256, passes the original 32): nothing of
                    # Temper's export can be compared there.
                    reason = f"llama.cpp's logits of the base alone differ from transformers' by {base_error:.2e}"
                    record["llama_cpp_refuses_base"] = reason
                    print(line + "; " + reason)
                    with open(os.path.join(OUT, family + ".json"), "w") as f:
                        json.dump(record, f)
                        f.write("\n")
                    continue
                assert "error" not in lora, f"{family}: llama.cpp refuses the LoRA: {lora['error']}"
                assert "error" not in merged_gguf, f"{family}: llama.cpp refuses the merged GGUF: {merged_gguf['error']}"
                lora_logits = torch.tensor(lora["logits"], dtype=torch.float64)
                lora_error = ((lora_logits - peft_logits).norm() / peft_logits.norm()).item()
                line += (f"; llama.cpp LoRA vs PEFT {lora_error:.2e}, greedy equal "
                         f"{lora['greedy'][:len(peft_greedy)] == peft_greedy}")
                record.update(lora_logits=rounded(lora["logits"]), lora_greedy=lora["greedy"],
                              merged_logits=rounded(merged_gguf["logits"]),
                              merged_greedy=merged_gguf["greedy"])
                # The GGUF merged from the HF model, in llama.cpp.
                cross_path = renamed_for_llama_cpp(os.path.join(exports, "cross.gguf"), work)
                cross_gguf = llama_cpp(tool, cross_path, None, prompt)
                assert "error" not in cross_gguf, \
                    f"{family}: llama.cpp refuses the GGUF merged from the HF model: {cross_gguf['error']}"
                cross_error = ((torch.tensor(cross_gguf["logits"], dtype=torch.float64) - peft_logits).norm()
                               / peft_logits.norm()).item()
                line += (f"; HF->GGUF in llama.cpp vs PEFT {cross_error:.2e}, greedy equal "
                         f"{cross_gguf['greedy'][:len(peft_greedy)] == peft_greedy}")
                record.update(cross_logits=rounded(cross_gguf["logits"]), cross_greedy=cross_gguf["greedy"])
            print(line)
            with open(os.path.join(OUT, family + ".json"), "w") as f:
                json.dump(record, f)
                f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Temper ⇄ LLaMA-Factory: the same tokens, the same adapter.

Runs in the virtualenv `make interop-env` builds (LLaMA-Factory from PyPI,
CPU).  For each chat family it makes a tiny Hugging Face model (random
weights, the family's tokenizer and published chat template), a Temper run
folder on it, and exports that run with `temper-cli export-job`; then:

  ids     LLaMA-Factory's own preprocessing (its template, dataset loader and
          supervised processor) of the exported job, for every record of the
          sample datasets: token ids and which tokens are labels.  With
          --write the results become tests/fixtures/interop/*.json, which
          tests/interop/test-interop-ids.c compares with Temper's own
          tokenization in every `make check`; without it they are compared
          with the committed fixtures (the fixtures are still what
          LLaMA-Factory makes).
  train   trains the exported job with `llamafactory-cli train` on the CPU
          for a few steps, brings the adapter back with `temper-cli import`,
          and compares Temper's greedy answers with the adapter against
          transformers + PEFT's greedy answers with the same adapter.

Usage: python llamafactory-interop.py {ids [--write] | train} --cli PATH/temper-cli
Exit status 77 means "skipped" (for meson), with the reason on stdout.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "data", "samples")
SAMPLE_FILES = ["product-faq.jsonl", "product-faq-heldout.jsonl", "style-pirate.jsonl",
                "broken-example.jsonl"]
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "interop")
DEMO_GGUF = os.path.join(ROOT, "data", "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
MAX_LENGTH = 1024

try:
    import torch
    import transformers
except ImportError as e:  # the venv is not an interop one
    print(f"SKIP: transformers is not installed here ({e}); run `make interop-env`")
    sys.exit(77)


def chat_templates():
    with open(os.path.join(ROOT, "tests", "fixtures", "chat", "render.json")) as f:
        return json.load(f)["templates"]


# family → where its tokenizer comes from, its architecture and template.
FAMILIES = {
    "qwen2": {"tokenizer": "tests/fixtures/tokenizer/qwen2", "arch": "qwen2",
              "template": "qwen2.5", "eos": "<|im_end|>", "pad": "<|endoftext|>"},
    "llama3": {"tokenizer": "tests/fixtures/chat/llama3", "arch": "llama",
               "template": "llama3", "eos": "<|eot_id|>", "bos": "<|begin_of_text|>"},
    "smollm2": {"gguf": "data/models/SmolLM2-135M-Instruct.Q4_1.gguf", "arch": "llama",
                "template": "smollm2"},
}
# Llama 2 and Mistral are left out on purpose: LLaMA-Factory's llama2 template
# drops the space the model's own template writes before </s> (one token per
# answer), and its mistral templates differ too; the job's README says so.


def make_tokenizer(family, spec, out_dir):
    """The family's tokenizer saved with its chat template into out_dir."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    jinja = chat_templates()[spec["template"]]["jinja"]
    if "gguf" in spec:
        tok = AutoTokenizer.from_pretrained(os.path.dirname(DEMO_GGUF),
                                            gguf_file=os.path.basename(DEMO_GGUF))
    else:
        src = os.path.join(ROOT, spec["tokenizer"])
        kwargs = {}
        for key in ("bos", "eos", "pad"):
            if key in spec:
                kwargs[key + "_token"] = spec[key]
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(src, "tokenizer.json"), **kwargs)
        cfg = os.path.join(src, "tokenizer_config.json")
        if os.path.exists(cfg):
            with open(cfg) as f:
                add_bos = json.load(f).get("add_bos_token")
            if add_bos is not None:
                tok.add_bos_token = add_bos
    tok.chat_template = jinja
    tok.save_pretrained(out_dir)
    return tok, jinja


def make_tiny_model(family, spec, out_dir):
    """A two-layer model with random weights (seed 0) and the family's tokenizer."""
    tok, jinja = make_tokenizer(family, spec, out_dir)
    torch.manual_seed(0)
    common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=2048, rms_norm_eps=1e-5, tie_word_embeddings=False,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id)
    if spec["arch"] == "qwen2":
        config = transformers.Qwen2Config(rope_theta=10000.0, **common)
        model = transformers.Qwen2ForCausalLM(config)
    else:
        config = transformers.LlamaConfig(rope_theta=10000.0, **common)
        model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    return tok, jinja


def make_run(run_dir, model_dir, dataset, training):
    os.makedirs(os.path.join(run_dir, "dataset"))
    shutil.copy(dataset, os.path.join(run_dir, "dataset"))
    settings = {"model": model_dir, "dataset": os.path.basename(dataset), "training": training}
    with open(os.path.join(run_dir, "settings.json"), "w") as f:
        json.dump(settings, f, indent=1)


def export_job(cli, run_dir, job_dir):
    subprocess.run([cli, "export-job", run_dir, "--engine", "llamafactory", "--out", job_dir],
                   check=True, stdout=subprocess.DEVNULL)


def llamafactory_tokens(job_dir):
    """LLaMA-Factory's preprocessing of the job as its trainer would run it."""
    import yaml
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    with open(os.path.join(job_dir, "llamafactory.yaml")) as f:
        args = yaml.safe_load(f)
    args.update(dataset_dir=os.path.join(job_dir, "data"),
                output_dir=os.path.join(job_dir, "output"), bf16=False,
                preprocessing_num_workers=None, report_to="none")
    args.pop("eval_dataset", None)
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(args)
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft",
                         **tokenizer_module)
    out = []
    for row in module["train_dataset"]:
        out.append({"ids": list(row["input_ids"]),
                    "mask": [0 if label == -100 else 1 for label in row["labels"]]})
    return out


def command_ids(cli, write):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    failures = 0
    for family, spec in FAMILIES.items():
        if "gguf" in spec and not os.path.exists(os.path.join(ROOT, spec["gguf"])):
            print(f"# {family}: the demo model is missing (make setup), left out")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = os.path.join(tmp, "model")
            _, jinja = make_tiny_model(family, spec, model_dir)
            import llamafactory

            fixture = {"generator": "tests/interop/llamafactory-interop.py (LLaMA-Factory "
                                    + llamafactory.__version__ + ")",
                       "family": family, "tokenizer": spec.get("tokenizer") or spec["gguf"],
                       "jinja": jinja, "max_length": MAX_LENGTH, "datasets": []}
            for name in SAMPLE_FILES:
                run_dir = os.path.join(tmp, "run-" + name)
                job_dir = os.path.join(tmp, "job-" + name)
                make_run(run_dir, model_dir, os.path.join(SAMPLES, name),
                         {"val_fraction": 0.0, "max_length": MAX_LENGTH})
                export_job(cli, run_dir, job_dir)
                records = llamafactory_tokens(job_dir)
                fixture["datasets"].append({"file": name, "records": records})
            path = os.path.join(FIXTURES, f"llamafactory-{family}.json")
            n = sum(len(d["records"]) for d in fixture["datasets"])
            if write:
                os.makedirs(FIXTURES, exist_ok=True)
                with open(path, "w") as f:
                    json.dump(fixture, f, ensure_ascii=False, separators=(",", ":"))
                    f.write("\n")
                print(f"ok - {family}: wrote {n} records to {os.path.relpath(path, ROOT)}")
            else:
                with open(path) as f:
                    committed = json.load(f)
                same = committed["datasets"] == fixture["datasets"]
                failures += not same
                print(f"{'ok' if same else 'not ok'} - {family}: LLaMA-Factory's ids and labels "
                      f"for {n} records {'equal' if same else 'differ from'} the committed fixture")
    return 1 if failures else 0


def prompts():
    """The held-out questions (English and Chinese) and two general ones."""
    out = []
    with open(os.path.join(SAMPLES, "product-faq-heldout.jsonl")) as f:
        out += [json.loads(line)["prompt"] for line in f if line.strip()]
    return out[:8] + ["What is the capital of France?", "How many days are in a week?"]


def hf_greedy(model_dir, adapter_dir, prompts, max_new_tokens):
    from peft import PeftModel

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(model, adapter_dir)
    model.eval()
    answers = []
    for p in prompts:
        ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, do_sample=False, max_new_tokens=max_new_tokens,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        answers.append(tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip())
    return answers


def same_text(a, b):
    """Equal, once each run of U+FFFD is one: an answer cut inside a UTF-8
    character (random tiny models emit stray byte tokens) is shown with one
    replacement character by Python and one per byte by Temper; the tokens
    behind both are the same."""
    import re

    def collapse(t):
        return re.sub("\ufffd+", "\ufffd", t)
    return collapse(a) == collapse(b)


def temper_greedy(cli, model_dir, run_dir, prompts, max_new_tokens):
    answers = []
    for p in prompts:
        cmd = [cli, "chat", model_dir, "-p", p, "--temperature", "0", "--repeat-penalty", "1",
               "--max-tokens", str(max_new_tokens), "--threads", "1"]
        if run_dir is not None:
            cmd += ["--adapter", run_dir]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        answers.append(out.strip())
    return answers


def command_train(cli):
    family = "qwen2"
    spec = FAMILIES[family]
    max_new_tokens = 24
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", HF_DATASETS_OFFLINE="1",
               DISABLE_VERSION_CHECK="0", WANDB_DISABLED="true")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "model")
        run_dir = os.path.join(tmp, "run")
        job_dir = os.path.join(tmp, "job")
        back_dir = os.path.join(tmp, "imported")
        make_tiny_model(family, spec, model_dir)
        make_run(run_dir, model_dir, os.path.join(SAMPLES, "product-faq.jsonl"),
                 {"max_steps": 6, "learning_rate": 0.01, "warmup_steps": 0, "micro_batch": 4,
                  "grad_accum": 1, "rank": 8, "alpha": 16, "dropout": 0.0,
                  "targets": "q,k,v,o,gate,up,down", "val_fraction": 0.0, "max_length": 256,
                  "seed": 3})
        export_job(cli, run_dir, job_dir)
        subprocess.run(["llamafactory-cli", "train", "llamafactory.yaml", "bf16=false",
                        "preprocessing_num_workers=1", "dataloader_num_workers=0"],
                       cwd=job_dir, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([cli, "import", job_dir, "--run", back_dir], check=True)
        with open(os.path.join(back_dir, "metrics.jsonl")) as f:
            steps = [json.loads(line) for line in f if line.strip()]
        ok = len(steps) == 6 and all(s["loss"] is not None for s in steps)
        print(f"{'ok' if ok else 'not ok'} - import: {len(steps)} loss values from "
              f"trainer_state.json ({steps[0]['loss'] if steps else '-'} → "
              f"{steps[-1]['loss'] if steps else '-'})")
        failures = 0 if ok else 1

        questions = prompts()
        base_hf = hf_greedy(model_dir, None, questions, max_new_tokens)
        base_temper = temper_greedy(cli, model_dir, None, questions, max_new_tokens)
        tuned_hf = hf_greedy(model_dir, os.path.join(job_dir, "output"), questions, max_new_tokens)
        tuned_temper = temper_greedy(cli, model_dir, back_dir, questions, max_new_tokens)
        n = len(questions)
        base_equal = sum(same_text(a, b) for a, b in zip(base_hf, base_temper))
        changed = sum(b != t for b, t in zip(base_hf, tuned_hf))
        equal = sum(same_text(a, b) for a, b in zip(tuned_hf, tuned_temper))
        for p, a, b in zip(questions, tuned_hf, tuned_temper):
            if not same_text(a, b):
                print(f"# {p!r}: transformers+PEFT {a!r}, Temper {b!r}")
        print(f"{'ok' if base_equal == n else 'not ok'} - greedy answers of the base model: "
              f"Temper equals transformers for {base_equal} of {n} prompts")
        print(f"{'ok' if equal == n else 'not ok'} - greedy answers with the LLaMA-Factory "
              f"adapter: Temper equals transformers+PEFT for {equal} of {n} prompts "
              f"(the adapter changed {changed} of the base answers)")
        failures += (base_equal != n) + (equal != n)
        if changed == 0:
            print("not ok - the trained adapter changed no answer, so the comparison shows nothing")
            failures += 1
    return 1 if failures else 0


def main():
    try:
        import llamafactory  # noqa: F401
    except ImportError as e:
        print(f"SKIP: LLaMA-Factory is not installed here ({e}); run `make interop-env`")
        sys.exit(77)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["ids", "train"])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    cli = os.path.abspath(args.cli)
    if args.command == "ids":
        sys.exit(command_ids(cli, args.write))
    sys.exit(command_train(cli))


if __name__ == "__main__":
    main()

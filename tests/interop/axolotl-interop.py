#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Temper ⇄ axolotl: the same tokens and the same loss mask.

Runs in the virtualenv `make interop-env AXOLOTL=1` builds (axolotl from
PyPI).  For each family of tests/fixtures/interop/llamafactory-*.json it makes
the same tiny model as llamafactory-interop.py, exports a Temper run of every
sample dataset with `temper-cli export-job --engine axolotl`, and runs
axolotl's own dataset preparation on the job's axolotl.yaml.  Temper's ids are
the fixture's (test-interop-ids checks they equal Temper's own), and Temper's
mask is the fixture's without the line break LLaMA-Factory alone trains after
<|im_end|>.  axolotl shuffles nothing here (shuffle_merged_datasets off), but
records are matched by their ids all the same.

Usage: python axolotl-interop.py --cli PATH/temper-cli
Exit status 77 means "skipped", with the reason on stdout.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    from axolotl.cli.config import load_cfg
    from axolotl.common.datasets import load_datasets
except ImportError as e:
    print(f"SKIP: axolotl is not installed here ({e}); run `make interop-env AXOLOTL=1`")
    sys.exit(77)


def helpers():
    spec = importlib.util.spec_from_file_location(
        "llamafactory_interop", os.path.join(HERE, "llamafactory-interop.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def temper_masks(entry, end_of_turn, newline):
    """ids → Temper's mask, from a LLaMA-Factory fixture entry."""
    out = {}
    for rec in entry["records"]:
        ids, mask = rec["ids"], list(rec["mask"])
        for i in range(1, len(mask)):
            if ids[i] == newline and ids[i - 1] == end_of_turn and mask[i - 1]:
                mask[i] = 0
        out[tuple(ids)] = mask
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    cli = os.path.abspath(args.cli)
    li = helpers()
    failures = 0
    for family, spec in li.FAMILIES.items():
        if "gguf" in spec and not os.path.exists(os.path.join(li.ROOT, spec["gguf"])):
            print(f"# {family}: the demo model is missing (make setup), left out")
            continue
        with open(os.path.join(li.FIXTURES, f"llamafactory-{family}.json")) as f:
            fixture = json.load(f)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = os.path.join(tmp, "model")
            tok, _ = li.make_tiny_model(family, spec, model_dir)
            newline = tok.encode("\n", add_special_tokens=False)
            newline = newline[0] if len(newline) == 1 else -1
            end_of_turn = tok.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tok.get_vocab() else -2
            total = same_ids = same_masks = 0
            for entry in fixture["datasets"]:
                run_dir = os.path.join(tmp, "run-" + entry["file"])
                job_dir = os.path.join(tmp, "job-" + entry["file"])
                li.make_run(run_dir, model_dir, os.path.join(li.SAMPLES, entry["file"]),
                            {"val_fraction": 0.0, "max_length": fixture["max_length"]})
                subprocess.run([cli, "export-job", run_dir, "--engine", "axolotl", "--out", job_dir],
                               check=True, stdout=subprocess.DEVNULL)
                cwd = os.getcwd()
                os.chdir(job_dir)
                try:
                    cfg = load_cfg("axolotl.yaml", output_dir=os.path.join(job_dir, "output"),
                                   dataset_prepared_path=os.path.join(job_dir, "prepared"),
                                   bf16=False, tf32=False, dataset_num_proc=1,
                                   dataset_processes=1, shuffle_merged_datasets=False,
                                   shuffle_before_merging_datasets=False)
                    rows = list(load_datasets(cfg=cfg).train_dataset)
                finally:
                    os.chdir(cwd)
                masks = temper_masks(entry, end_of_turn, newline)
                for row in rows:
                    total += 1
                    ids = tuple(row["input_ids"])
                    if ids in masks:
                        same_ids += 1
                        same_masks += [0 if l == -100 else 1 for l in row["labels"]] == masks[ids]
                if len(rows) != len(entry["records"]):
                    print(f"# {family}, {entry['file']}: axolotl kept {len(rows)} records, "
                          f"Temper {len(entry['records'])}")
                    failures += 1
            ok = total > 0 and same_ids == total and same_masks == total
            failures += not ok
            print(f"{'ok' if ok else 'not ok'} - {family}: axolotl's ids equal Temper's for "
                  f"{same_ids} of {total} records, its loss masks for {same_masks}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

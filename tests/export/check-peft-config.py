#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a Temper PEFT export with PEFT and transformers themselves (no torch
needed): PeftConfig.from_pretrained loads adapter_config.json, and the base
it names resolves, a local folder through transformers.AutoConfig.

Usage: check-peft-config.py ADAPTER_DIR
Exit 0: fine; 1: a check failed; 77: peft or transformers is not installed.
"""
import os
import sys

try:
    from peft import PeftConfig
    from transformers import AutoConfig
except ImportError as e:
    print(f"peft/transformers not installed: {e}")
    sys.exit(77)

config = PeftConfig.from_pretrained(sys.argv[1])
base = config.base_model_name_or_path
print(f"base_model_name_or_path: {base!r}")
if not base:
    sys.exit("no base model named")
if not os.path.isdir(base):
    sys.exit(f"{base!r} is not a local folder (this test only uses local bases)")
AutoConfig.from_pretrained(base)
print("the base model's config loads")

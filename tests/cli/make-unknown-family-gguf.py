#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A GGUF of a family Temper does not read (deepseek2: DeepSeek-V2/V3), written by gguf-py:
tests/fixtures/cli/unknown-family.gguf, for test-cli-refusals.sh.  Its
general.file_type says Q4_K_M (15) although its one tensor is F32, so the
test also sees that info reports the file's own quantization name.

Usage: tests/cli/make-unknown-family-gguf.py  (with the gguf package)
"""
import os

import gguf
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "cli", "unknown-family.gguf")

writer = gguf.GGUFWriter(OUT, "deepseek2")
writer.add_name("Unknown Family Test")
writer.add_file_type(15)
writer.add_tensor("token_embd.weight", np.zeros((64, 32), dtype=np.float32))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

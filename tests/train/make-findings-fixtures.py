#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/datasets/findings.jsonl and findings-val.jsonl:
records that load but each show one thing the dataset check must find
(see test-dataset-findings.c for which line shows what).  The long texts
are built so that line 8 shares about 94 % of its 5-character shingles
with line 7 (Jaccard, checked below) and line 10 only about 63 %."""
import json
import os
import random
import unicodedata

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "datasets")
words = ("alpha beta gamma delta epsilon zeta theta iota kappa lambda sigma omega "
         "river stone cloud field light north south ember").split()


def sentence(k):
    r = random.Random(k)
    return " ".join(r.choice(words) for _ in range(8)) + f" number {k}."


A = " ".join(sentence(k) for k in range(40))
B = " ".join(sentence(k) if k != 20 else "a completely different sentence here." for k in range(40))
C = " ".join(sentence(k) if k % 3 else sentence(k + 1000) for k in range(40))
lines = [
    {"prompt": "What is the capital of France?", "response": "Paris."},
    {"prompt": "what is the capital of  FRANCE？", "response": "ＰＡＲＩＳ"},
    {"prompt": "Say nothing", "response": " . "},
    {"prompt": "Format this", "response": "<b>bold</b> text"},
    {"prompt": "Where can I get coffee?", "response": "At the cafÃ© on the corner."},
    {"prompt": "北京是哪个国家的首都？", "response": "Beijing is the capital of China."},
    {"prompt": "Tell me the story", "response": A},
    {"prompt": "Tell me the story", "response": B},
    {"prompt": "Who wrote Hamlet?", "response": "Shakespeare wrote Hamlet."},
    {"prompt": "Tell me another story", "response": C},
    {"prompt": "How many legs has a spider?", "response": "Eight legs."},
    {"prompt": "天空是什么颜色？", "response": "天空通常是蓝色的。"},
    {"prompt": "What is 2 + 2?", "response": "Four, of course."},
    {"prompt": "Name a primary colour.", "response": "Red is one of them."},
]


def shingles(t):
    n = "".join(c for c in unicodedata.normalize("NFKC", t).casefold() if c.isalnum())
    return {n[i:i + 5] for i in range(len(n) - 4)}


a, b, c = shingles("Tell me the story" + A), shingles("Tell me the story" + B), shingles("Tell me another story" + C)
assert len(a & b) / len(a | b) >= 0.9 and len(a & c) / len(a | c) < 0.8

with open(os.path.join(here, "findings.jsonl"), "w", encoding="utf-8") as f:
    for line in lines:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
with open(os.path.join(here, "findings-val.jsonl"), "w", encoding="utf-8") as f:
    f.write(json.dumps({"prompt": "Which planet is red?", "response": "Mars."}) + "\n")
    f.write(json.dumps({"prompt": "who wrote hamlet", "response": "Shakespeare wrote Hamlet!"}) + "\n")

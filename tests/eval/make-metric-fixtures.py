#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/eval/metric-pairs.json: BLEU, chrF and ROUGE-L of
answer/reference pairs as the reference implementations compute them.

    pip install sacrebleu rouge-score
    python3 tests/eval/make-metric-fixtures.py

BLEU and chrF come from sacrebleu with its defaults; ROUGE-L from
rouge-score.  rouge-score's tokeniser keeps only a-z and 0-9, so it scores
every Chinese pair 0; Temper also makes each CJK character a token.  The
script therefore hands rouge-score a tokeniser that does the same, and checks
that on every pair without CJK text it gives rouge-score's own result, so the
only deviation is the documented one."""

import json
import os
import re

import sacrebleu
from rouge_score import rouge_scorer

PAIRS = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("the cat", "The cat sat on the mat."),
    ("", "The cat sat on the mat."),
    ("The cat sat on the mat.", ""),
    ("", ""),
    ("Paris", "Paris"),
    ("The capital of France is Paris.", "Paris"),
    ("Berlin", "Paris"),
    ("apple banana cherry", "dog elephant fox"),
    ("It costs $3.50, or 3,50 euros.", "The price is $3.50 (3,50 euros)."),
    ("Call 555-1234 before 5 p.m.", "Call 555 - 1234 before 5pm."),
    ("He said \"hello\" & left.", "He said &quot;hello&quot; &amp; left."),
    ("Line one\nline two", "Line one line two"),
    ("co-operate with the well-known team", "cooperate with the well known team"),
    ("  spaced   out\ttext  ", "spaced out text"),
    ("Reset the device by holding the power button for ten seconds.",
     "Hold the power button for 10 seconds to reset the device."),
    ("The warranty lasts two years from the date of purchase.",
     "Your warranty covers two years after purchase."),
    ("Yes.", "Yes"),
    ("No, it is not waterproof.", "It is not waterproof."),
    ("2 + 2 = 4", "4"),
    ("The answer is 14.", "4"),
    ("I don't know.", "I do not know."),
    ("Temper's app uses LoRA; it's fast!", "Temper uses LoRA: it is fast."),
    ("a b c d e f g", "a b c d e f g"),
    ("a b c d", "d c b a"),
    ("one two three four five", "one two three four six"),
    ("x", "x y"),
    ("U.S.A. and U.K.", "USA and UK"),
    ("Version 1.2.3 released.", "version 1.2.3 was released"),
    ("北京是中国的首都。", "北京是中国的首都。"),
    ("中国的首都是北京", "北京是中国的首都"),
    ("首都是北京。", "北京"),
    ("上海", "北京"),
    ("", "北京是中国的首都。"),
    ("北京是中国的首都。", ""),
    ("我不知道。", "我不清楚。"),
    ("一加一等于二", "1+1=2"),
    ("这台设备的保修期为两年。", "保修期两年"),
    ("按住电源键十秒钟即可重置设备。", "长按电源键 10 秒来重置设备。"),
    ("Temper 支持 LoRA 微调。", "Temper 可以进行 LoRA 微调"),
    ("水的化学式是H2O", "H2O"),
    ("東京は日本の首都です。", "日本の首都は東京です。"),
    ("서울은 한국의 수도입니다", "한국의 수도는 서울입니다"),
    ("Café au lait", "cafe au lait"),
    ("ÉCOLE normale", "école normale"),
    ("!!!", "..."),
    ("Hello, world!", "hello world"),
    ("The quick brown fox jumps over the lazy dog",
     "The quick brown dog jumps over the lazy fox"),
    ("The meeting is on 2024-05-01 at 10:30.", "The meeting is on May 1, 2024 at 10:30."),
    ("Use <skipped> the default", "Use the default"),
    ("repeat repeat repeat repeat", "repeat"),
]

CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_RE = re.compile("[" + CJK + "]")
TOKEN_RE = re.compile("[a-z0-9]+|[" + CJK + "]")


class CjkTokenizer:
    """rouge-score's tokeniser, with each CJK character a token of its own."""

    def tokenize(self, text):
        return TOKEN_RE.findall(text.lower())


def main():
    bleu_sentence = sacrebleu.metrics.BLEU(effective_order=True)
    chrf = sacrebleu.metrics.CHRF()
    rouge_cjk = rouge_scorer.RougeScorer(["rougeL"], tokenizer=CjkTokenizer())
    rouge_plain = rouge_scorer.RougeScorer(["rougeL"])
    tok13a = sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()

    records = []
    for answer, reference in PAIRS:
        rouge = rouge_cjk.score(reference, answer)["rougeL"].fmeasure
        if not CJK_RE.search(answer + reference):
            assert abs(rouge - rouge_plain.score(reference, answer)["rougeL"].fmeasure) < 1e-12
        records.append({
            "answer": answer,
            "reference": reference,
            "tokens_13a": tok13a(answer.rstrip()).split(),
            "rouge_tokens": CjkTokenizer().tokenize(answer),
            "bleu": bleu_sentence.sentence_score(answer, [reference]).score / 100.0,
            "chrf": chrf.sentence_score(answer, [reference]).score / 100.0,
            "rouge_l": rouge,
        })

    answers = [a for a, _ in PAIRS]
    references = [r for _, r in PAIRS]
    out = {
        "generator": "sacrebleu %s, rouge-score (tests/eval/make-metric-fixtures.py)" % sacrebleu.__version__,
        "pairs": records,
        "corpus_bleu": sacrebleu.corpus_bleu(answers, [references]).score / 100.0,
        "corpus_chrf": sacrebleu.corpus_chrf(answers, [references]).score / 100.0,
    }
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "fixtures", "eval", "metric-pairs.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %d pairs to %s" % (len(records), os.path.normpath(path)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference token ids for Temper's tokenizer tests, computed with Hugging Face.

Writes into tests/fixtures/tokenizer/:

  spm/tokenizer.json, spm/tokenizer_config.json, spm.gguf
      a SentencePiece BPE vocabulary (byte_fallback) trained here, converted to a
      fast tokenizer by transformers, and the same vocabulary as a GGUF
      (tokenizer.ggml.model "llama": tokens, scores, token types).
  qwen2/tokenizer.json, qwen2.gguf
      a byte-level BPE trained with the tokenizers library using Qwen2's NFC
      normalizer, Split regex and ByteLevel(use_regex=False); the GGUF has
      tokenizer.ggml.pre "qwen2".
  llama3/tokenizer.json, llama3/tokenizer_config.json, llama3.gguf
      the same with the Llama 3 regex and ignore_merges, plus added tokens with
      lstrip/rstrip/single_word and a non-special added token; the GGUF
      (tokenizer.ggml.pre "llama-bpe") holds it without those flags.
  expected.json
      for each tokenizer and each string of corpus.json and of a seeded fuzz
      list: the ids with and without special-token parsing, and the decoded
      text; also variants of the tokenizer.json files (other pre-tokenizer
      and normalizer layouts) as the edits to apply and their ids.

  bytegap/, bytegap-unk/, bytegap.json
      a byte-level BPE whose vocabulary lacks most bytes (as SmolLM2's lacks
      0x04, 0x13 …), without and with an unknown token of its own, and the
      ids tokenizers gives strings holding such bytes; also the demo model's
      ids for them.  Its tokenizer_config.json names end-of-text as unk_token,
      which tokenizers never uses for encoding.  `--byte-gap` writes only these.

The demo model's tokenizer (SmolLM2 GGUF) is too big to commit; its expected
ids are computed from the GGUF by transformers and stored in expected.json.

Run from the source root (needs transformers, tokenizers, sentencepiece, gguf):
    python3 tests/tokenizer/make-tokenizer-fixtures.py
"""
import json
import os
import random
import sys
import tempfile

import numpy as np
import sentencepiece as spm
import gguf
from tokenizers import Tokenizer, Regex, AddedToken, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer, LlamaTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
DEMO_DIR = os.path.join(ROOT, "data", "models")
DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


SPM_VARIANTS = {
    # Llama 2's own tokenizer.json: a ▁ before every stretch, by normalizers.
    "spm_legacy": {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
    },
    # Metaspace that prepends to every stretch and splits words at each ▁.
    "spm_split": {
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": True},
    },
}


GPT2_REGEX_NO_FINAL_SPACE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
BYTE_LEVEL_REGEX = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
BYTE_LEVEL_PLAIN = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
# Other byte-level pre-tokenizer layouts, applied to the qwen2 vocabulary.
BYTE_VARIANTS = {
    # GPT-2: the regex inside ByteLevel.
    "bytelevel_gpt2": {"normalizer": None, "pre_tokenizer": BYTE_LEVEL_REGEX},
    # SmolLM2's tokenizer.json: every digit alone, then GPT-2.
    "bytelevel_smollm": {"normalizer": None, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, BYTE_LEVEL_REGEX]}},
    # Runs of digits split off first.
    "bytelevel_digits": {"normalizer": None, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False}, BYTE_LEVEL_REGEX]}},
    # llama.cpp's spelling of the GPT-2 regex (no final \s+) as a Split.
    "bytelevel_split_gpt2": {"normalizer": None, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_REGEX_NO_FINAL_SPACE}, "behavior": "Isolated",
         "invert": False}, BYTE_LEVEL_PLAIN]}},
}


def training_text(corpus):
    """A deterministic multilingual text to train the small vocabularies on."""
    rng = random.Random(20241123)
    words = {
        "en": "the of and to in is you that it he was for on are as with his they at be this have from "
              "or one had by word but not what all were we when your can said there use an each which she "
              "do how their if will up other about out many then them these so some her would make like "
              "him into time has look two more write go see number no way could people my than first water "
              "been call who oil its now find long down day did get come made may part model train token "
              "learning language assistant helpful answer question dataset adapter weights quickly".split(),
        "fr": "le la les de des un une et est être avoir café naïve résumé très où déjà français élève".split(),
        "de": "der die das und ist nicht ein eine straße schön über müssen größer mädchen häuser".split(),
        "es": "el la los las de y que en un una es por para cómo dónde está niño año señor".split(),
        "ru": "и в не на я быть он с что а по это она этот к но они мы как из у который".split(),
    }
    cjk = ["你好世界", "今天天气很好", "我们一起学习", "机器学习", "语言模型", "中文文本",
           "こんにちは", "世界", "日本語", "テキスト", "カタカナ", "ひらがな", "ありがとう",
           "안녕하세요", "세계", "한국어", "텍스트", "반갑습니다", "감사합니다"]
    code = ["def f(x):\n    return x * 2\n", "int main(void) {\n\treturn 0;\n}\n",
            "for i in range(10):\n    print(i)\n", "if (a == b && c != d) { x += 1; }\n",
            "#include <stdio.h>\n", "import numpy as np\n", "// comment\n", "/* block */\n"]
    lines = list(corpus)
    for _ in range(3000):
        lang = rng.choice(list(words))
        n = rng.randint(4, 14)
        sentence = " ".join(rng.choice(words[lang]) for _ in range(n))
        if rng.random() < 0.3:
            sentence = sentence.capitalize()
        if rng.random() < 0.2:
            sentence += " " + str(rng.randint(0, 100000))
        sentence += rng.choice([".", "!", "?", ",", ";", ":", ""])
        lines.append(sentence)
    for _ in range(800):
        lines.append("".join(rng.choice(cjk) for _ in range(rng.randint(2, 6))) + rng.choice(["。", "！", "、", ""]))
    for _ in range(300):
        lines.append(rng.choice(code))
    return lines


def spm_fixture(corpus, lines, tmp):
    """A SentencePiece BPE model with byte fallback → tokenizer.json + GGUF."""
    text_path = os.path.join(tmp, "spm-train.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write("\n".join(l.replace("\n", " ") for l in lines if l.strip()) + "\n")
    model_dir = os.path.join(tmp, "spm")
    os.makedirs(model_dir)
    spm.SentencePieceTrainer.train(
        input=text_path, model_prefix=os.path.join(model_dir, "tokenizer"), vocab_size=2000,
        model_type="bpe", byte_fallback=True, character_coverage=0.9995,
        hard_vocab_limit=False, num_threads=1, minloglevel=2,
        bos_id=1, eos_id=2, unk_id=0, pad_id=-1)

    hf = LlamaTokenizer.from_pretrained(model_dir)
    out_dir = os.path.join(FIX, "spm")
    os.makedirs(out_dir, exist_ok=True)
    hf.backend_tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "add_bos_token": True,
                   "chat_template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"},
                  f, indent=1)
        f.write("\n")

    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        else:
            types.append(1)
    # Temper ranks SentencePiece merges by score; transformers ranks them by id.
    # They agree when the normal pieces' scores fall strictly with the id.
    normal = [scores[i] for i in range(len(tokens)) if types[i] == 1]
    assert all(a > b for a, b in zip(normal, normal[1:])), "scores not strictly decreasing"

    w = gguf.GGUFWriter(os.path.join(FIX, "spm.gguf"), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    write_gguf(w)
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))


def write_gguf(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def byte_bpe_fixture(name, regex, lines, ignore_merges, extra_added):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=3000, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.train_from_iterator(lines, trainer=trainer)
    tok.add_tokens(extra_added)
    out_dir = os.path.join(FIX, name)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "tokenizer.json")
    tok.save(path)
    return Tokenizer.from_file(path)


def byte_bpe_gguf(tok, path, pre):
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    n = max(list(vocab.values()) + [t["id"] for t in j["added_tokens"]]) + 1
    tokens = [None] * n
    for piece, i in vocab.items():
        tokens[i] = piece
    types = [1] * n
    for t in j["added_tokens"]:
        tokens[t["id"]] = t["content"]
        types[t["id"]] = 3 if t["special"] else 4
    merges = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    write_gguf(w)


FUZZ_PIECES = [" ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\u00a0", "\u3000",
               "\u2028", "a", "Z", "word", " the", "é", "e\u0301", "中文", "の", "한", "1", "23", "4567",
               "٣", "½", "'", "'s", "'LL", "'re", "'Ve", "'D", ".", ",", "!", "?", "...", "-", "_",
               "(", ")", "<", ">", '"', "😀", "👍🏽", "\u200d", "\ufe0f", "$", "<|im_start|>",
               "<|im_end|>", "<|endoftext|>", "<mask>", "<tool>", "tool_call", "<s>", "</s>", "▁", "Ġ"]


def fuzz_corpus():
    """Random mixtures of the characters the pre-tokenizer regexes treat
    differently: runs of different spaces, newlines, digits, apostrophes,
    letters, marks and special-token strings."""
    rng = random.Random(7)
    return ["".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 14))) for _ in range(300)]


def encode_all(tok, corpus):
    """ids with special parsing, ids without (null where the same), and
    decode(ids with special) (null where it gives back the input exactly):
    the nulls keep the file small."""
    special, plain, decoded = [], [], []
    for text in corpus:
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        special.append(ids)
        back = tok.decode(ids, skip_special_tokens=False)
        decoded.append(None if back == text else back)
        tok.encode_special_tokens = True
        ids_plain = tok.encode(text, add_special_tokens=False).ids
        plain.append(None if ids_plain == ids else ids_plain)
        tok.encode_special_tokens = False
    return {"special": special, "plain": plain, "decoded": decoded}


def smollm_reference(corpus):
    """The demo model's tokenizer as transformers reads it from the GGUF.

    transformers' GGUF conversion gives a plain ByteLevel pre-tokenizer, while
    the published SmolLM2 tokenizer.json (and llama.cpp's "smollm") first
    isolates every digit: Sequence[Digits(individual_digits=True), ByteLevel].
    We restore that and report where the two differ."""
    hf = AutoTokenizer.from_pretrained(DEMO_DIR, gguf_file=DEMO_FILE)
    backend = hf.backend_tokenizer
    converted = encode_all(backend, corpus)
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    fixed = encode_all(backend, corpus)
    differ = [i for i in range(len(corpus)) if converted["special"][i] != fixed["special"][i]]
    print("smollm: transformers' GGUF conversion (no Digits step) differs on %d of %d strings"
          % (len(differ), len(corpus)), differ)
    fixed["gguf_conversion_differs_on"] = differ
    return fixed


BYTE_GAP_STRINGS = ["a\x04b", "\x04", "hello\x04\x13world", "x\x01y", "the\x7f fox", "\x1b[31mred\x1b[0m",
                    "\x04\x04\x13 \x14", "caf\u00e9", "<|endoftext|>\x04", "\x06<|im_start|>\x1d"]


def byte_gap_fixtures():
    """Byte-level BPE with bytes missing from its vocabulary: tokenizers
    drops such bytes when the model has no unk_token, and gives unk_token
    (one per run with fuse_unk) when it has one."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=120, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<unk>"])
    tok.train_from_iterator(["hello world, the quick brown fox jumps over the lazy dog. red caf"] * 20,
                            trainer=trainer)
    base = json.loads(tok.to_str())
    out = {"strings": BYTE_GAP_STRINGS}
    for name, unk, fuse in [("bytegap", None, False), ("bytegap-unk", "<unk>", False),
                            ("bytegap-unk-fused", "<unk>", True)]:
        j = json.loads(json.dumps(base))
        j["model"]["unk_token"] = unk
        j["model"]["fuse_unk"] = fuse
        variant = Tokenizer.from_str(json.dumps(j))
        out[name] = encode_all(variant, BYTE_GAP_STRINGS)
        d = os.path.join(FIX, name)
        os.makedirs(d, exist_ok=True)
        variant.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                       "bos_token": "<|im_start|>"}, f, indent=1)
            f.write("\n")
    hf = AutoTokenizer.from_pretrained(DEMO_DIR, gguf_file=DEMO_FILE)
    out["smollm"] = encode_all(hf.backend_tokenizer, BYTE_GAP_STRINGS)
    with open(os.path.join(FIX, "bytegap.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for name in ("bytegap", "bytegap-unk", "bytegap-unk-fused", "smollm"):
        print(name, out[name]["special"])


def main():
    if "--byte-gap" in sys.argv[1:]:
        byte_gap_fixtures()
        return
    with open(os.path.join(FIX, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    lines = training_text(corpus)
    # Every check below runs over the hand-written corpus and then the fuzz strings.
    fuzz = fuzz_corpus()
    expected = {"fuzz_corpus": fuzz}
    corpus = corpus + fuzz
    with tempfile.TemporaryDirectory() as tmp:
        spm_tok = spm_fixture(corpus, lines, tmp)
        expected["spm"] = encode_all(spm_tok, corpus)
    # Other SentencePiece-style layouts of the same vocabulary, as edits of
    # the top level of tokenizer.json that the C test applies too.
    for name, edit in SPM_VARIANTS.items():
        j = json.loads(spm_tok.to_str())
        j.update(edit)
        expected[name] = encode_all(Tokenizer.from_str(json.dumps(j)), corpus)
        expected[name]["base"] = "spm"
        expected[name]["edit"] = edit

    qwen2 = byte_bpe_fixture("qwen2", QWEN2_REGEX, lines, False, [])
    byte_bpe_gguf(qwen2, os.path.join(FIX, "qwen2.gguf"), "qwen2")
    expected["qwen2"] = encode_all(qwen2, corpus)
    for name, edit in BYTE_VARIANTS.items():
        j = json.loads(qwen2.to_str())
        j.update(edit)
        expected[name] = encode_all(Tokenizer.from_str(json.dumps(j)), corpus)
        expected[name]["base"] = "qwen2"
        expected[name]["edit"] = edit

    llama3 = byte_bpe_fixture("llama3", LLAMA3_REGEX, lines, True, [
        AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False),
        AddedToken("<tool>", special=False, normalized=False),
        AddedToken("tool_call", single_word=True, special=False, normalized=False),
    ])
    with open(os.path.join(FIX, "llama3", "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|im_start|>", "eos_token": {"content": "<|im_end|>"},
                   "pad_token": "<|endoftext|>",
                   "chat_template": [{"name": "default", "template": "{{ messages }}"},
                                     {"name": "tool_use", "template": "tools"}]}, f, indent=1)
        f.write("\n")
    expected["llama3"] = encode_all(llama3, corpus)

    # GGUF has no normalizer and no lstrip/rstrip/single_word flags: the GGUF
    # copy of the Llama 3 style vocabulary is checked against the same
    # tokenizer without them.
    j = json.loads(llama3.to_str())
    j["normalizer"] = None
    for t in j["added_tokens"]:
        t["lstrip"] = t["rstrip"] = t["single_word"] = False
    llama3_plain = Tokenizer.from_str(json.dumps(j))
    byte_bpe_gguf(llama3_plain, os.path.join(FIX, "llama3.gguf"), "llama-bpe")
    expected["llama3_gguf"] = encode_all(llama3_plain, corpus)

    if os.path.exists(os.path.join(DEMO_DIR, DEMO_FILE)):
        expected["smollm"] = smollm_reference(corpus)
    else:
        sys.exit("the demo model is missing: run the demo setup first")

    with open(os.path.join(FIX, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    for name, e in expected.items():
        if name == "fuzz_corpus":
            continue
        print(name, sum(len(x) for x in e["special"]), "ids")
    byte_gap_fixtures()


if __name__ == "__main__":
    main()

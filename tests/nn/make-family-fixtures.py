#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tiny random models of every family Temper runs, with reference logits from
Hugging Face transformers (independent of Temper), for tests/nn/test-families.

Writes into tests/fixtures/families/:
  <family>/            the model as a Hugging Face folder (save_pretrained,
                       float32) with a tokenizer of the family's kind
  <family>.gguf        the same model converted by llama.cpp's
                       convert_hf_to_gguf.py (--outtype f32)
  <family>.json        prompt ids, the 64-token greedy continuation, settings
  <family>.logits      float32 little-endian, 65 rows of n_vocab: the logits
                       after the prompt, then after each greedy token
  qwen3moe-q8_0.*      the Qwen3-MoE model quantized by llama.cpp (Q8_0 and
                       F16 experts), its logits from its dequantized weights

Windows and contexts are small so the prompt and its continuation pass them:
sliding windows of 24 positions, Llama 3.1's original context of 32.

Run from the source root:
  pip download --no-deps --no-binary :all: llama-cpp-python -d /tmp/lcpp
  (unpack it; its vendor/llama.cpp holds convert_hf_to_gguf.py and gguf-py)
  python3 tests/nn/make-family-fixtures.py --llama-cpp /tmp/.../vendor/llama.cpp [family …]
Needs torch, transformers (>= 5), tokenizers, sentencepiece.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "families")
N_GREEDY = 64
WINDOW = 24
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Temper teaches a local language model a task with LoRA.",
    "Hello world! How are you today? I am fine, thank you.",
    "def main():\n    return 0\n", "长城是中国古代的军事防御工程。",
] * 20
PROMPT = "Hello world! The quick brown fox"

# The pre-tokenizer name each byte-level family's GGUF gets (llama.cpp names
# a pre-tokenizer by hashing a real tokenizer's output, which a tiny trained
# one cannot match).
BPE_PRE = {"llama31": "llama-bpe", "qwen3": "qwen2", "qwen3moe": "qwen2", "phi3": "gpt-2", "phi35": "gpt-2",
           "qwen3-yarn": "qwen2", "phi35-long": "gpt-2",
           "glm4": "qwen2"}
# Families written as a Hugging Face folder only (llama.cpp has no GGUF of them).
HF_ONLY = {"qwen3moe-mixed", "mixtral-window", "gemma3-vlm"}


def bpe_tokenizer(folder, specials, eos, bos=None, pad=None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=eos, bos_token=bos, pad_token=pad)
    fast.save_pretrained(folder)
    return fast


def spm_tokenizer(folder, specials, bos="<bos>", eos="<eos>", dummy_prefix=False):
    """A SentencePiece BPE model with byte fallback (tokenizer.model), and the
    same vocabulary as a tokenizer.json (built here: transformers' converter
    needs protobuf).  Gemma adds no space before the text; Llama-style
    vocabularies (Mistral) do."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import PreTrainedTokenizerFast

    text = os.path.join(folder, "corpus.txt")
    with open(text, "w") as f:
        f.write("\n".join(CORPUS))
    spm.SentencePieceTrainer.train(
        input=text, model_prefix=os.path.join(folder, "tokenizer"), vocab_size=320, model_type="bpe",
        byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece=eos, bos_piece=bos, unk_piece="<unk>",
        user_defined_symbols=specials, add_dummy_prefix=dummy_prefix, normalization_rule_name="identity",
        split_digits=True, remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        character_coverage=1.0, minloglevel=2)
    os.remove(text)
    os.remove(os.path.join(folder, "tokenizer.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(folder, "tokenizer.model"))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    # Merges: every split of a piece into two pieces, by the merged piece's rank.
    merges = []
    for piece, rank in vocab.items():
        if sp.is_control(rank) or sp.is_byte(rank) or sp.is_unknown(rank) or piece in specials:
            continue
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in vocab and right in vocab:
                merges.append((rank, vocab[left], vocab[right], left, right))
    merges.sort()
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[(m[3], m[4]) for m in merges],
                               byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    if dummy_prefix:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    else:
        tok.normalizer = normalizers.Replace(" ", "\u2581")
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens(["<pad>", eos, bos, "<unk>"] + specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos,
                                   unk_token="<unk>", pad_token="<pad>")
    fast.save_pretrained(folder)
    return fast, sp


def strip_text_defaults(folder, cls):
    """Leaves out of text_config what equals Gemma3TextConfig's defaults, as
    the real checkpoints do, and reloads the model from the folder so that
    the reference logits are those of the files as written."""
    import transformers as tf

    path = os.path.join(folder, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    defaults = tf.Gemma3TextConfig()
    text = cfg["text_config"]
    for key in ["num_attention_heads", "num_key_value_heads", "query_pre_attn_scalar", "max_position_embeddings",
                "rms_norm_eps", "hidden_activation", "attention_bias", "final_logit_softcapping",
                "attn_logit_softcapping", "tie_word_embeddings", "use_bidirectional_attention"]:
        if key in text and text[key] == getattr(defaults, key):
            del text[key]
    for kind in ("sliding_attention", "full_attention"):
        params = text.get("rope_parameters", {}).get(kind, {})
        if params.get("rope_theta") == defaults.rope_parameters[kind]["rope_theta"]:
            del params["rope_theta"]
    for key in ("num_attention_heads", "num_key_value_heads", "query_pre_attn_scalar", "max_position_embeddings"):
        assert key not in text, key
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return cls.from_pretrained(folder, dtype=torch.float32).eval()


def module_layout(folder, family):
    """<family>-modules/: the same model with its tensors named as the
    modules are (model.language_model.layers…, model.vision_tower.…,
    lm_head), as some tools save it; transformers 5.25 itself writes the
    layout Google ships (language_model.model.layers…, vision_tower.…), and
    renames either when it loads: both must give the same logits."""
    import shutil

    import transformers as tf
    from safetensors.torch import load_file, save_file

    other = folder + "-modules"
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(folder, other)
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    renamed = {}
    for name, t in tensors.items():
        if name.startswith("language_model.model."):
            name = "model.language_model." + name[len("language_model.model."):]
        elif name.startswith("language_model.lm_head."):
            name = name[len("language_model."):]
        else:
            name = "model." + name
        renamed[name] = t.contiguous()
    assert any(n.startswith("model.language_model.layers.") for n in renamed)
    save_file(renamed, os.path.join(other, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(OUT, f"{family}.json")) as f:
        meta = json.load(f)
    a = tf.Gemma3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    b = tf.Gemma3ForConditionalGeneration.from_pretrained(other, dtype=torch.float32).eval()
    ids = torch.tensor([meta["prompt"] + meta["greedy"]])
    with torch.no_grad():
        assert torch.equal(a(ids).logits, b(ids).logits), "both layouts should load to the same model"
    print(family, "module-named layout written and checked")


def randomise(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.5)
            elif name.endswith("mlp.gate.weight") or name.endswith("router.weight"):
                # Router logits far apart, so that no two experts tie for a place.
                p.normal_(0.0, 1.0)
            elif "norm" in name:
                # Gemma's norms scale by 1 + w: keep the scale near 1 either way.
                base = 0.0 if getattr(model.config, "model_type", "").startswith("gemma") else 1.0
                p.copy_(base + 0.2 * torch.randn_like(p))


def make(family):
    import transformers as tf

    folder = os.path.join(OUT, family)
    os.makedirs(folder, exist_ok=True)
    common = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, head_dim=16, max_position_embeddings=256,
                  initializer_range=0.2)
    sp = None
    if family == "llama31":
        fast = bpe_tokenizer(folder, ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"],
                             eos="<|eot_id|>", bos="<|begin_of_text|>")
        config = tf.LlamaConfig(vocab_size=len(fast), rope_theta=10000.0, tie_word_embeddings=False,
                                rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                              "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
                                bos_token_id=0, eos_token_id=1, **common)
        cls = tf.LlamaForCausalLM
    elif family == "qwen3":
        fast = bpe_tokenizer(folder, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
                             eos="<|im_end|>", pad="<|endoftext|>")
        config = tf.Qwen3Config(vocab_size=len(fast), tie_word_embeddings=True, rope_theta=1000000.0,
                                eos_token_id=2, bos_token_id=None, **common)
        cls = tf.Qwen3ForCausalLM
    elif family == "qwen3-yarn":
        # Qwen3 with YaRN on, as its model cards say to enable it: 4× an
        # original context of 64, which the decode passes.  With a base of
        # 10000 the ramp between extrapolated and interpolated pairs spans
        # pairs 0 to 3 of 8, so every kind of pair is there.
        fast = bpe_tokenizer(folder, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
                             eos="<|im_end|>", pad="<|endoftext|>")
        config = tf.Qwen3Config(vocab_size=len(fast), tie_word_embeddings=True, rope_theta=10000.0,
                                rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                                              "beta_fast": 32.0, "beta_slow": 1.0},
                                eos_token_id=2, bos_token_id=None, **common)
        cls = tf.Qwen3ForCausalLM
    elif family in ("qwen3moe", "qwen3moe-mixed"):
        # Four experts of 24, two chosen per token, their weights renormalised.
        # The mixed model keeps its first layer dense (mlp_only_layers) and
        # does not renormalise; llama.cpp's converter has no such layout, so
        # it is a Hugging Face folder only.
        fast = bpe_tokenizer(folder, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
                             eos="<|im_end|>", pad="<|endoftext|>")
        mixed = family == "qwen3moe-mixed"
        config = tf.Qwen3MoeConfig(vocab_size=len(fast), tie_word_embeddings=False, rope_theta=1000000.0,
                                   num_experts=4, num_experts_per_tok=2, moe_intermediate_size=24,
                                   norm_topk_prob=not mixed, decoder_sparse_step=1,
                                   mlp_only_layers=[0] if mixed else [],
                                   eos_token_id=2, bos_token_id=None, **common)
        cls = tf.Qwen3MoeForCausalLM
    elif family in ("mixtral", "mixtral-window"):
        # Four experts of 48 (intermediate_size), two chosen per token; the
        # second with a sliding window (a Hugging Face folder only: llama.cpp's
        # converter writes no window for the llama architecture).
        fast, sp = spm_tokenizer(folder, ["[INST]", "[/INST]"], bos="<s>", eos="</s>", dummy_prefix=True)
        config = tf.MixtralConfig(vocab_size=len(fast), tie_word_embeddings=False, num_local_experts=4,
                                  num_experts_per_tok=2,
                                  sliding_window=WINDOW if family == "mixtral-window" else None,
                                  bos_token_id=2, eos_token_id=1, pad_token_id=0, **common)
        cls = tf.MixtralForCausalLM
    elif family == "mistral":
        fast, sp = spm_tokenizer(folder, ["[INST]", "[/INST]"], bos="<s>", eos="</s>", dummy_prefix=True)
        config = tf.MistralConfig(vocab_size=len(fast), sliding_window=WINDOW, tie_word_embeddings=False,
                                  bos_token_id=2, eos_token_id=1, pad_token_id=0, **common)
        cls = tf.MistralForCausalLM
    elif family in ("gemma2", "gemma3"):
        fast, sp = spm_tokenizer(folder, ["<start_of_turn>", "<end_of_turn>"])
        extra = dict(vocab_size=len(fast), query_pre_attn_scalar=16, sliding_window=WINDOW,
                     bos_token_id=2, eos_token_id=1, pad_token_id=0)
        if family == "gemma2":
            config = tf.Gemma2Config(attn_logit_softcapping=2.0, final_logit_softcapping=5.0, **extra, **common)
            cls = tf.Gemma2ForCausalLM
        else:
            common["num_hidden_layers"] = 6   # five local layers, then a global one
            config = tf.Gemma3TextConfig(rope_parameters={
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
                **extra, **common)
            config.architectures = ["Gemma3ForCausalLM"]
            cls = tf.Gemma3ForCausalLM
    elif family == "gemma3-vlm":
        # Gemma 3 4B/12B/27B as Google ships them: Gemma3ForConditionalGeneration
        # (a SigLIP image tower, a projector and the text model under
        # language_model), whose config.json nests text_config and leaves out
        # every value equal to Gemma3TextConfig's defaults (the real 4B names
        # only sizes, rope_scaling and the window).  Here 8 heads, 4 key/value
        # heads, query_pre_attn_scalar, both RoPE bases and the context are
        # the defaults, so the file leaves them out as the real ones do.
        fast, sp = spm_tokenizer(folder, ["<start_of_turn>", "<end_of_turn>"])
        text = tf.Gemma3TextConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=48, num_hidden_layers=4,
                                   head_dim=8, sliding_window=WINDOW, initializer_range=0.2,
                                   layer_types=["sliding_attention"] * 3 + ["full_attention"],
                                   rope_parameters={"sliding_attention": {"rope_type": "default"},
                                                    "full_attention": {"rope_type": "linear", "factor": 8.0}},
                                   bos_token_id=2, eos_token_id=1, pad_token_id=0)
        vision = tf.SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=28, patch_size=14)
        config = tf.Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                                 boi_token_index=3, eoi_token_index=4, image_token_index=5)
        cls = tf.Gemma3ForConditionalGeneration
    elif family in ("phi3", "phi35", "phi35-long"):
        fast = bpe_tokenizer(folder, ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>", "<|system|>"],
                             eos="<|end|>", pad="<|endoftext|>")
        # As Phi-4-mini ships it: a GPT-2 style byte-level vocabulary.
        tc = os.path.join(folder, "tokenizer_config.json")
        with open(tc) as f:
            cfg = json.load(f)
        cfg["tokenizer_class"] = "GPT2Tokenizer"
        with open(tc, "w") as f:
            json.dump(cfg, f, indent=1)
        if family == "phi3":
            # Phi-4-mini's layout: partial rotary; and Phi-3-mini's window.
            config = tf.Phi3Config(vocab_size=len(fast), partial_rotary_factor=0.75, sliding_window=WINDOW,
                                   original_max_position_embeddings=256, tie_word_embeddings=False,
                                   bos_token_id=0, eos_token_id=3, pad_token_id=0, **common)
        elif family == "phi35-long":
            # Phi-3.5-mini's LongRoPE past its original context (8, shorter
            # than the prompt): every forward runs the long factors.
            gen = np.random.default_rng(6)
            config = tf.Phi3Config(vocab_size=len(fast), tie_word_embeddings=False,
                                   original_max_position_embeddings=8,
                                   rope_scaling={"rope_type": "longrope",
                                                 "short_factor": [float(x) for x in gen.uniform(1.0, 3.0, 8)],
                                                 "long_factor": [float(x) for x in gen.uniform(2.0, 8.0, 8)]},
                                   bos_token_id=0, eos_token_id=3, pad_token_id=0, **common)
        else:
            # Phi-3.5-mini's LongRoPE: the short factors hold up to the
            # original context (128, past what the test reaches), and the
            # attention factor of a 4× longer maximum context.
            gen = np.random.default_rng(5)
            common["max_position_embeddings"] = 512
            config = tf.Phi3Config(vocab_size=len(fast), tie_word_embeddings=False,
                                   original_max_position_embeddings=128,
                                   rope_scaling={"rope_type": "longrope",
                                                 "short_factor": [float(x) for x in gen.uniform(1.0, 3.0, 8)],
                                                 "long_factor": [float(x) for x in gen.uniform(2.0, 8.0, 8)]},
                                   bos_token_id=0, eos_token_id=3, pad_token_id=0, **common)
        cls = tf.Phi3ForCausalLM
    elif family == "glm4":
        fast = bpe_tokenizer(folder, ["<|endoftext|>", "[gMASK]", "<sop>", "<|user|>", "<|assistant|>", "<|system|>"],
                             eos="<|user|>", pad="<|endoftext|>")
        config = tf.Glm4Config(vocab_size=len(fast), partial_rotary_factor=0.5, attention_bias=True,
                               tie_word_embeddings=False, eos_token_id=3, pad_token_id=0, **common)
        cls = tf.Glm4ForCausalLM
    else:
        raise SystemExit(f"unknown family {family}")

    torch.manual_seed(1234)
    model = cls(config).float()
    randomise(model)
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)
    if family == "gemma3-vlm":
        model = strip_text_defaults(folder, cls)
        # Gemma 3 4B carries its chat template for the processor, in
        # chat_template.json: Gemma 3's own (as tests/fixtures/chat keeps it).
        with open(os.path.join(ROOT, "tests", "fixtures", "chat", "render-families.json")) as f:
            template = json.load(f)["templates"]["gemma3"]["jinja"]
        with open(os.path.join(folder, "chat_template.json"), "w") as f:
            json.dump({"chat_template": template}, f, indent=2)
            f.write("\n")

    # The prompt stays inside the window, so that the decode crosses it.
    ids = fast(PROMPT, add_special_tokens=False)["input_ids"][:16]
    rows, greedy = [], []
    with torch.no_grad():
        seq = list(ids)
        for step in range(N_GREEDY + 1):
            logits = model(torch.tensor([seq])).logits[0, -1].float().numpy()
            rows.append(logits)
            if step == N_GREEDY:
                break
            nxt = int(np.argmax(logits))
            greedy.append(nxt)
            seq.append(nxt)
    np.stack(rows).astype("<f4").tofile(os.path.join(OUT, f"{family}.logits"))
    meta = {"source": f"transformers {tf.__version__} {cls.__name__}, random weights (seed 1234)",
            "prompt": ids, "greedy": greedy, "n_vocab": int(rows[0].shape[0]), "window": WINDOW,
            "tokenizer_text": "Hello world! 长城 3.14 ☃",
            "tokenizer_ids": fast("Hello world! 长城 3.14 ☃", add_special_tokens=False)["input_ids"]}
    if sp is not None:
        # SentencePiece's own answer, for the GGUF vocabulary read from tokenizer.model.
        meta["spm_ids"] = sp.encode("Hello world! 长城 3.14 ☃")
    with open(os.path.join(OUT, f"{family}.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(family, "vocab", len(fast), "prompt", len(ids), "tokens")
    return folder


def convert(llama_cpp, family, folder, outtype="f32", name=None):
    """convert_hf_to_gguf.py, run as it is but for the pre-tokenizer name."""
    pre = BPE_PRE.get(family, "default")
    name = name or family
    code = (
        "import sys\n"
        f"sys.path.insert(0, {os.path.join(llama_cpp, 'gguf-py')!r}); sys.path.insert(0, {llama_cpp!r})\n"
        "import conversion.base as base\n"
        f"base.TextModel.get_vocab_base_pre = lambda self, tokenizer: {pre!r}\n"
        "import convert_hf_to_gguf\n"
        f"sys.argv = ['convert_hf_to_gguf.py', {folder!r}, '--outtype', {outtype!r}, '--outfile', "
        f"{os.path.join(OUT, name + '.gguf')!r}]\n"
        "convert_hf_to_gguf.main()\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def quantized_moe(llama_cpp, family, folder):
    """<family>-q8_0.gguf: the model as llama.cpp quantizes it (Q8_0 experts
    stacked in 3-D tensors, F16 where a row is not a whole block), and its
    logits from transformers run on the GGUF's own weights as gguf-py
    dequantizes them: a reference for reading quantized experts that owes
    nothing to Temper."""
    import transformers as tf
    from gguf import GGUFReader
    from gguf.quants import dequantize

    name = family + "-q8_0"
    convert(llama_cpp, family, folder, "q8_0", name)
    reader = GGUFReader(os.path.join(OUT, name + ".gguf"))
    weights = {t.name: torch.tensor(np.array(dequantize(t.data, t.tensor_type), dtype=np.float32))
               for t in reader.tensors}
    model = tf.Qwen3MoeForCausalLM.from_pretrained(folder).float().eval()
    sd = {"model.embed_tokens.weight": weights["token_embd.weight"], "lm_head.weight": weights["output.weight"],
          "model.norm.weight": weights["output_norm.weight"]}
    parts = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
             "self_attn.k_norm": "attn_k_norm", "mlp.gate": "ffn_gate_inp"}
    for i in range(model.config.num_hidden_layers):
        for hf, gg in parts.items():
            sd[f"model.layers.{i}.{hf}.weight"] = weights[f"blk.{i}.{gg}.weight"]
        sd[f"model.layers.{i}.mlp.experts.gate_up_proj"] = torch.cat(
            [weights[f"blk.{i}.ffn_gate_exps.weight"], weights[f"blk.{i}.ffn_up_exps.weight"]], dim=1)
        sd[f"model.layers.{i}.mlp.experts.down_proj"] = weights[f"blk.{i}.ffn_down_exps.weight"]
    own = model.state_dict()
    assert set(sd) == set(own), set(own) ^ set(sd)
    for k in sd:
        assert sd[k].shape == own[k].shape, (k, sd[k].shape, own[k].shape)
    model.load_state_dict(sd)
    with open(os.path.join(OUT, f"{family}.json")) as f:
        meta = json.load(f)
    rows, greedy, seq = [], [], list(meta["prompt"])
    with torch.no_grad():
        for step in range(N_GREEDY + 1):
            logits = model(torch.tensor([seq])).logits[0, -1].float().numpy()
            rows.append(logits)
            if step == N_GREEDY:
                break
            greedy.append(int(np.argmax(logits)))
            seq.append(greedy[-1])
    np.stack(rows).astype("<f4").tofile(os.path.join(OUT, f"{name}.logits"))
    meta.update(source=f"transformers {tf.__version__} Qwen3MoeForCausalLM on the weights of {name}.gguf "
                       "as gguf-py dequantizes them", greedy=greedy)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama-cpp", required=True, help="llama.cpp source folder (convert_hf_to_gguf.py)")
    parser.add_argument("families", nargs="*",
                        default=["llama31", "qwen3", "mistral", "gemma2", "gemma3", "phi3", "phi35", "glm4",
                                 "qwen3-yarn", "phi35-long", "qwen3moe", "mixtral", "qwen3moe-mixed", "mixtral-window", "gemma3-vlm"])
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for fam in args.families:
        folder = make(fam)
        if fam not in HF_ONLY:
            convert(args.llama_cpp, fam, folder)
        if fam == "qwen3moe":
            quantized_moe(args.llama_cpp, fam, folder)
        if fam == "gemma3-vlm":
            module_layout(folder, fam)

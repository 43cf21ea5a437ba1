#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden fixtures for Temper's chat templates.

Renders conversations with transformers' own Jinja `apply_chat_template`
for each family's published template text and stores the strings; and, with
the demo model's tokenizer (loaded from its GGUF by transformers), stores the
token ids and which tokens a trainer should compute the loss on (the
assistant's text and the <|im_end|> that closes it), worked out from the
tokenizer's character offsets.

The other families are checked the same way with two small tokenizers
trained here: a SentencePiece BPE with byte fallback (Llama 2 and Mistral)
converted by transformers, and a byte-level BPE with Llama 3's split regex and
header tokens.

Run from the source root after `make setup` (needs transformers, tokenizers,
sentencepiece, gguf):
    python3 tests/chat/make-chat-fixtures.py
Writes tests/fixtures/chat/render.json, tokens-smollm2.json,
tokens-families.json and the tokenizers in spm/, spm-legacy/ and llama3/.
"""
import json
import os
import tempfile

import sentencepiece as spm
from gguf import GGUFReader
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, LlamaTokenizer, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, "data", "models")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "chat")


def gguf_template(path):
    reader = GGUFReader(path)
    field = reader.fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


# Public chat templates, reproduced as data (as published in each model's
# tokenizer_config.json; tool-calling branches of Qwen2.5 and Mistral v3 kept
# as they are, though the fixtures do not use tools).
QWEN2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

MISTRAL_V1 = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

MISTRAL_V3 = """{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{%- for message in loop_messages | rejectattr("role", "equalto", "tool") | rejectattr("role", "equalto", "tool_results") | selectattr("tool_calls", "undefined") %}
    {%- if (message["role"] == "user") != (loop.index0 % 2 == 0) %}
        {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {{- tool | tojson }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
            {%- endfor %}
            {{- "][/AVAILABLE_TOOLS]" }}
        {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\\n\\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""


def conversations():
    sys_msg = {"role": "system", "content": "You answer in one short sentence."}
    u1 = {"role": "user", "content": "What is the capital of Estonia?"}
    a1 = {"role": "assistant", "content": "The capital of Estonia is Tallinn."}
    u2 = {"role": "user", "content": "  And its population?\n"}
    a2 = {"role": "assistant", "content": "\nAbout 450,000 people live there.  "}
    zh_u = {"role": "user", "content": "水壶的保修期是多久？"}
    zh_a = {"role": "assistant", "content": "保修期为三年。"}
    tricky = {"role": "user", "content": "Say <|im_start|> or [INST] literally."}
    return [
        ("one turn", [u1, a1], False),
        ("system and one turn", [sys_msg, u1, a1], False),
        ("two turns", [u1, a1, u2, a2], False),
        ("system and two turns", [sys_msg, u1, a1, u2, a2], False),
        ("prompt only", [u1], True),
        ("system and prompt", [sys_msg, u1], True),
        ("history and prompt", [u1, a1, u2], True),
        ("system, history and prompt", [sys_msg, u1, a1, u2], True),
        ("chinese", [zh_u, zh_a], False),
        ("markup in user text", [tricky, a1], False),
    ]


def render_fixtures(tok, smollm2):
    templates = {
        "smollm2": {"jinja": smollm2, "bos": "<|im_start|>", "eos": "<|im_end|>", "family": "ChatML",
                    "default_system": "You are a helpful AI assistant named SmolLM, trained by Hugging Face"},
        "qwen2": {"jinja": QWEN2, "bos": "", "eos": "<|im_end|>", "family": "ChatML",
                  "default_system": "You are a helpful assistant."},
        "qwen2.5": {"jinja": QWEN25, "bos": "", "eos": "<|im_end|>", "family": "ChatML",
                    "default_system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
        "llama2": {"jinja": LLAMA2, "bos": "<s>", "eos": "</s>", "family": "Llama 2"},
        "llama3": {"jinja": LLAMA3, "bos": "<|begin_of_text|>", "eos": "<|end_of_text|>", "family": "Llama 3"},
        "mistral-v1": {"jinja": MISTRAL_V1, "bos": "<s>", "eos": "</s>", "family": "Mistral"},
        "mistral-v3": {"jinja": MISTRAL_V3, "bos": "<s>", "eos": "</s>", "family": "Mistral"},
    }
    cases = []
    for name, spec in templates.items():
        for title, messages, gen in conversations():
            text = tok.apply_chat_template(messages, chat_template=spec["jinja"], tokenize=False,
                                           add_generation_prompt=gen,
                                           bos_token=spec["bos"], eos_token=spec["eos"])
            cases.append({"template": name, "title": title, "messages": messages,
                          "add_generation_prompt": gen, "expected": text})
    return {"generator": "transformers apply_chat_template (Jinja)", "templates": templates,
            "cases": cases}


def token_fixtures(tok):
    """Ids and loss mask for the demo model's own template."""
    im_end = "<|im_end|>"
    cases = []
    for title, messages, gen in conversations():
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        # Spans the loss should cover: each assistant message's text and the
        # <|im_end|> right after it.
        spans = []
        pos = 0
        for m in messages:
            header = "<|im_start|>" + m["role"] + "\n"
            start = text.index(header + m["content"] + im_end, pos) + len(header)
            end = start + len(m["content"]) + len(im_end)
            if m["role"] == "assistant":
                spans.append((start, end))
            pos = end
        if "<|im_start|>" in "".join(m["content"] for m in messages):
            # Message text must stay text: encode the pieces between the
            # template's own special tokens without special-token parsing.
            ids, offsets = [], []
            pieces = []
            i = 0
            while i < len(text):
                starts = [(text.find(s, i), s) for s in ("<|im_start|>", im_end)]
                starts = [(p, s) for p, s in starts if p >= 0]
                user_markup = [m for m in messages if m["role"] == "user" and "<|im_start|>" in m["content"]]
                # skip the markup-looking text inside the message
                starts = [(p, s) for p, s in starts
                          if not any(text.find(u["content"], 0) <= p < text.find(u["content"], 0) + len(u["content"])
                                     for u in user_markup)]
                if not starts:
                    pieces.append((i, len(text), False))
                    break
                p, s = min(starts)
                if p > i:
                    pieces.append((i, p, False))
                pieces.append((p, p + len(s), True))
                i = p + len(s)
            for a, b, special in pieces:
                enc = tok(text[a:b], add_special_tokens=False, split_special_tokens=not special,
                          return_offsets_mapping=True)
                ids += enc["input_ids"]
                offsets += [(a + x, a + y) for x, y in enc["offset_mapping"]]
        else:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            ids, offsets = enc["input_ids"], enc["offset_mapping"]
        mask = [1 if any(x < e and y > s for s, e in spans) else 0 for x, y in offsets]
        cases.append({"title": title, "messages": messages, "add_generation_prompt": gen,
                      "text": text, "ids": ids, "mask": mask})
    return {"generator": "transformers + tokenizers (demo GGUF tokenizer), offsets for the mask",
            "end_of_turn": tok.convert_tokens_to_ids(im_end), "cases": cases}


LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def training_text():
    lines = []
    for _, messages, _ in conversations():
        lines += [m["content"] for m in messages]
    lines += ["The kettle boils one litre of water in three minutes.",
              "Brightwell Appliances was founded in Tallinn in 2019.",
              "Good morning, how are you today? I am fine, thank you."]
    return lines * 10


def make_spm_tokenizer(out_dir):
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "train.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(l.replace("\n", " ") for l in training_text()) + "\n")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=os.path.join(tmp, "tokenizer"), vocab_size=420,
            model_type="bpe", byte_fallback=True, character_coverage=1.0, hard_vocab_limit=False,
            num_threads=1, minloglevel=2, bos_id=1, eos_id=2, unk_id=0, pad_id=-1)
        hf = LlamaTokenizer.from_pretrained(tmp)
        os.makedirs(out_dir, exist_ok=True)
        hf.backend_tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True}
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    return PreTrainedTokenizerFast(tokenizer_file=os.path.join(out_dir, "tokenizer.json"),
                                   bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def make_spm_legacy_tokenizer(spm_dir, out_dir):
    """The same vocabulary spelled as Llama 2's own tokenizer.json: a ▁ put
    before every stretch of text by normalizers, also after special tokens."""
    with open(os.path.join(spm_dir, "tokenizer.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    data["pre_tokenizer"] = None
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    with open(os.path.join(spm_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        config = f.read()
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(config)
    return PreTrainedTokenizerFast(tokenizer_file=os.path.join(out_dir, "tokenizer.json"),
                                   bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def make_llama3_tokenizer(out_dir):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=450, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_text(), trainer)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True}
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    return PreTrainedTokenizerFast(tokenizer_file=os.path.join(out_dir, "tokenizer.json"),
                                   bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>")


def family_token_fixtures():
    """Ids and mask for Llama 2, Mistral and Llama 3 templates.

    The loss should cover each answer as the template writes it (stripped
    where the template strips it) through the end-of-turn token after it."""
    spm_tok = make_spm_tokenizer(os.path.join(OUT_DIR, "spm"))
    legacy_tok = make_spm_legacy_tokenizer(os.path.join(OUT_DIR, "spm"), os.path.join(OUT_DIR, "spm-legacy"))
    llama3_tok = make_llama3_tokenizer(os.path.join(OUT_DIR, "llama3"))
    setups = [
        ("llama2", LLAMA2, "spm", spm_tok, True, "</s>"),
        ("llama2", LLAMA2, "spm-legacy", legacy_tok, True, "</s>"),
        ("mistral-v1", MISTRAL_V1, "spm", spm_tok, False, "</s>"),
        ("mistral-v1", MISTRAL_V1, "spm-legacy", legacy_tok, False, "</s>"),
        ("mistral-v3", MISTRAL_V3, "spm", spm_tok, True, "</s>"),
        ("llama3", LLAMA3, "llama3", llama3_tok, True, "<|eot_id|>"),
    ]
    cases = []
    for name, jinja, tok_dir, tok, trims, eot in setups:
        for title, messages, gen in conversations():
            text = tok.apply_chat_template(messages, chat_template=jinja, tokenize=False,
                                           add_generation_prompt=gen, bos_token=tok.bos_token,
                                           eos_token=tok.eos_token)
            spans = []
            pos = 0
            for m in messages:
                content = m["content"].strip() if trims else m["content"]
                if m["role"] != "assistant":
                    continue
                start = text.index(content, pos)
                end = text.index(eot, start + len(content)) + len(eot)
                spans.append((start, end))
                pos = end
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            mask = [1 if any(x < e and y > s for s, e in spans) else 0 for x, y in enc["offset_mapping"]]
            cases.append({"template": name, "tokenizer": tok_dir, "title": title, "messages": messages,
                          "add_generation_prompt": gen, "text": text, "ids": enc["input_ids"],
                          "mask": mask, "end_of_turn": tok.convert_tokens_to_ids(eot)})
    return {"generator": "transformers apply_chat_template + tokenizers offsets",
            "templates": {"llama2": LLAMA2, "mistral-v1": MISTRAL_V1, "mistral-v3": MISTRAL_V3,
                          "llama3": LLAMA3},
            "cases": cases}


def main():
    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    smollm2 = gguf_template(os.path.join(MODEL_DIR, MODEL_FILE))
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "render.json"), "w", encoding="utf-8") as f:
        json.dump(render_fixtures(tok, smollm2), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT_DIR, "tokens-smollm2.json"), "w", encoding="utf-8") as f:
        json.dump(token_fixtures(tok), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT_DIR, "tokens-families.json"), "w", encoding="utf-8") as f:
        json.dump(family_token_fixtures(), f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

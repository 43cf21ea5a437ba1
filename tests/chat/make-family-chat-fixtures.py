#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden renderings of the chat formats of the newer families (Gemma 2/3,
Phi-3, Phi-4-mini, Qwen3, GLM-4), by transformers' own Jinja
apply_chat_template on each template's text, in the format of render.json
(tests/chat/make-chat-fixtures.py), for tests/chat/test-chat-render.

The template texts are reproduced here as data, as those models publish
them in tokenizer_config.json, with their tool-calling and image branches
left out (the fixtures use neither).  Where Temper renders on purpose what
the template does not write, the expectation says so:
  - Qwen3 is rendered in its non-thinking form (enable_thinking=False), the
    form Temper trains data without thinking in;
  - GLM-4's template writes no end marker after the last answer; Temper
    closes it with <|user|>, GLM-4's stop token, so training teaches the
    model to stop.

Run from the source root:  python3 tests/chat/make-family-chat-fixtures.py
Writes tests/fixtures/chat/render-families.json.
"""
import importlib.util
import json
import os

from jinja2.exceptions import TemplateError
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "chat", "render-families.json")

GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim -}}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\n'}}
{%- endif -%}
"""

GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)

PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

PHI4_MINI = (
    "{% for message in messages %}{% if message['role'] == 'system' and 'tools' in message and message['tools'] is not none %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}"
    "{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}"
)

QWEN3 = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""

GLM4 = """[gMASK]<sop>
{%- for msg in messages %}
{%- if msg.role == 'system' %}
<|system|>
{{ msg.content }}
{%- elif msg.role == 'user' %}
<|user|>
{{ msg.content }}
{%- elif msg.role == 'assistant' %}
<|assistant|>
{{ msg.content }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|assistant|>{% endif %}"""

TEMPLATES = {
    "gemma3": {"jinja": GEMMA3, "bos": "<bos>", "eos": "<eos>", "family": "Gemma"},
    "gemma2": {"jinja": GEMMA2, "bos": "<bos>", "eos": "<eos>", "family": "Gemma"},
    "phi3": {"jinja": PHI3, "bos": "<s>", "eos": "<|endoftext|>", "family": "Phi-3"},
    "phi4-mini": {"jinja": PHI4_MINI, "bos": "<|endoftext|>", "eos": "<|endoftext|>", "family": "Phi-3"},
    "qwen3": {"jinja": QWEN3, "bos": "", "eos": "<|im_end|>", "family": "ChatML"},
    "glm4": {"jinja": GLM4, "bos": "", "eos": "<|user|>", "family": "GLM-4"},
}


def main():
    # The conversations of render.json, from its own script.
    spec = importlib.util.spec_from_file_location(
        "chat_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-chat-fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()))
    u1 = {"role": "user", "content": "What is the capital of Estonia?"}
    u2 = {"role": "user", "content": "And its population?"}
    thought = {"role": "assistant", "content": "<think>\nThe user asks about Estonia.\n</think>\n\nTallinn."}
    plain = {"role": "assistant", "content": "About 450,000 people."}
    thinking = [("answer with thinking", [u1, thought], False),
                ("thinking in an earlier answer", [u1, thought, u2, plain], False),
                ("thinking, then a prompt", [u1, thought, u2], True)]
    cases = []
    for name, t in TEMPLATES.items():
        for title, messages, gen in module.conversations() + (thinking if name == "qwen3" else []):
            try:
                text = tok.apply_chat_template(messages, chat_template=t["jinja"], tokenize=False,
                                               add_generation_prompt=gen, bos_token=t["bos"],
                                               eos_token=t["eos"], enable_thinking=False)
            except TemplateError:
                continue   # Gemma 2 refuses a system message
            if name == "glm4" and not gen and messages[-1]["role"] == "assistant":
                text += "<|user|>"
            cases.append({"template": name, "title": title, "messages": messages,
                          "add_generation_prompt": gen, "expected": text})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "transformers apply_chat_template (Jinja)", "templates": TEMPLATES,
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the small dataset files tests/train/test-dataset.c reads.

The broken ones are written byte by byte here (invalid UTF-8, a BOM, CRLF
line ends, a cut-off file) because an editor would "fix" them.  Plain Python,
no libraries: python3 tests/train/make-dataset-fixtures.py
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "datasets")


def j(obj):
    return json.dumps(obj, ensure_ascii=False)


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def lines(*records):
    return "".join((r if isinstance(r, str) else j(r)) + "\n" for r in records)


def main():
    os.makedirs(OUT, exist_ok=True)

    # One good file per format.
    write("alpaca.jsonl", lines(
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"},
        {"instruction": "Name a primary colour.", "input": "", "output": "Red."},
        {"system": "Answer briefly.", "instruction": "What is 2+2?", "input": "", "output": "4"},
    ))
    write("instruction-output.json", j([
        {"instruction": "Say hello.", "output": "Hello!"},
        {"instruction": "Say goodbye.", "output": "Goodbye!"},
    ]) + "\n")
    write("prompt-response.jsonl", lines(
        {"prompt": "Capital of France?", "response": "Paris."},
        {"prompt": "Capital of Japan?", "completion": "Tokyo."},
    ))
    write("messages.jsonl", lines(
        {"messages": [{"role": "system", "content": "Be kind."},
                      {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello! How can I help?"},
                      {"role": "user", "content": "Tell me a fact."},
                      {"role": "assistant", "content": "Honey never spoils."}]},
        {"messages": [{"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}]},
    ))
    write("sharegpt.json", json.dumps([
        {"conversations": [{"from": "system", "value": "You are terse."},
                           {"from": "human", "value": "Weather?"},
                           {"from": "gpt", "value": "Sunny."}]},
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hey."},
                           {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Bye!"}]},
    ], indent=2, ensure_ascii=False) + "\n")
    write("text.jsonl", lines(
        {"text": "The Lumora K7 kettle boils one litre in three minutes."},
        {"text": "Brightwell Appliances was founded in Tallinn."},
    ))

    # Broken files.  Line numbers in comments are what the report must say.
    write("not-json.jsonl", lines(
        {"instruction": "ok", "output": "fine"},            # 1 good
        "this is not json",                                  # 2 not-json
        '{"instruction": "x", "output": }',                  # 3 not-json
        "[1, 2, 3]",                                         # 4 not-object
        '"just a string"',                                   # 5 not-object
        {"instruction": "also ok", "output": "yes"},         # 6 good
    ))
    write("truncated.json",
          '[\n  {"instruction": "one", "output": "1"},\n  {"instruction": "two", "output": "2"},\n'
          '  {"instruction": "three", "outp')
    write("wrong-types.jsonl", lines(
        {"instruction": "a", "output": 42},                           # 1 wrong-type
        {"instruction": ["a", "b"], "output": "x"},                   # 2 wrong-type
        {"instruction": "fine", "output": "ok"},                      # 3 good
        {"messages": "hello"},                                        # 4 other-format
    ))
    write("wrong-types-messages.jsonl", lines(
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},  # 1 good
        {"messages": "hello"},                                                                     # 2 wrong-type
        {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "x"}]},  # 3 wrong-type
        {"messages": ["hi", "there"]},                                                             # 4 wrong-type
        {"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "x"}]}, # 5 unknown-role
        {"messages": [{"content": "hi"}, {"role": "assistant", "content": "x"}]},                  # 6 missing-field
    ))
    write("missing-fields.jsonl", lines(
        {"instruction": "no answer here"},                  # 1 missing-field (output)
        {"instruction": "good", "output": "yes"},           # 2 good
        {"output": "no question", "instruction": "q"},      # 3 good (order does not matter)
        {"question": "?", "answer": "!"},                   # 4 missing-field (unknown fields)
        {"input": "x", "output": "y", "instruction": None}, # 5 wrong-type (null instruction)
    ))
    write("empty-answers.jsonl", lines(
        {"instruction": "q1", "output": ""},                                    # 1 empty-answer
        {"instruction": "q2", "output": "   \n"},                               # 2 empty-answer
        {"instruction": "q3", "output": "real"},                                # 3 good
        {"instruction": "", "input": "", "output": "no question"},              # 4 empty-answer (question)
    ))
    write("empty-conversations.jsonl", lines(
        {"messages": [{"role": "user", "content": "hi"}]},                                        # 1 no answer
        {"messages": []},                                                                         # 2 empty
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": " "}]}, # 3 empty answer
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]},# 4 good
    ))
    good = j({"instruction": "fine", "output": "ok"}).encode()
    write("invalid-utf8.jsonl", b"\n".join([
        good,                                                       # 1 good
        b'{"instruction": "caf\xe9", "output": "latin-1 byte"}',    # 2 invalid-utf8
        b'{"instruction": "cut \xe6\xb0", "output": "half a character"}',  # 3 invalid-utf8
        b'{"instruction": "over\xc0\xafl", "output": "overlong"}',  # 4 invalid-utf8
        b'{"instruction": "nul\x00", "output": "zero byte"}',       # 5 invalid-utf8
        j({"instruction": "水壶", "output": "好"}).encode(),        # 6 good
    ]) + b"\n")
    write("duplicates.jsonl", lines(
        {"instruction": "q", "output": "a"},                # 1
        {"instruction": "q", "output": "b"},                # 2 (different answer: kept)
        {"output": "a", "instruction": "q"},                # 3 duplicate of 1 (same fields)
        {"instruction": "q", "output": "a"},                # 4 duplicate of 1
        {"instruction": "q", "output": "b"},                # 5 duplicate of 2
    ))
    write("empty.jsonl", b"")
    write("blank.jsonl", b"\n  \n\t\n")
    write("empty-array.json", b"[ ]\n")
    write("bom.jsonl", b"\xef\xbb\xbf" + lines(
        {"instruction": "first", "output": "1"},
        {"instruction": "second", "output": "2"},
    ).encode())
    write("bom-array.json", b"\xef\xbb\xbf" + (j([{"prompt": "p", "response": "r"}]) + "\n").encode())
    write("utf16.jsonl", "\ufeff".encode("utf-16-le") + lines({"instruction": "q", "output": "a"}).encode("utf-16-le"))
    write("crlf.jsonl", lines({"instruction": "q1", "output": "a1"}).replace("\n", "\r\n")
          + "\r\n" + lines({"instruction": "q2", "output": "a2"}).replace("\n", "\r\n"))
    huge = "x" * 40000
    write("huge-line.jsonl", lines(
        {"instruction": "small", "output": "fine"},         # 1 good
        {"instruction": "big", "output": huge},             # 2 too-large (limit set by the test)
        {"instruction": "after", "output": "still read"},   # 3 good
    ))
    write("mixed-formats.jsonl", lines(
        {"instruction": "alpaca first", "output": "sets the format"},             # 1 good
        {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]},  # 2 other-format
        {"prompt": "p", "response": "r"},                                          # 3 other-format
        {"instruction": "again", "input": "with input", "output": "fine"},        # 4 good
        {"text": "plain"},                                                         # 5 other-format
    ))
    write("all-bad.jsonl", lines("nope", {"instruction": "q"}, "[]"))
    # A JSON array with broken items between good ones; items are numbered from 0.
    write("array-mixed.json",
          '[\n  {"instruction": "a", "output": "1"},\n  {"instruction": "b", "output": 2},\n'
          '  "text item",\n  {"instruction": "c",\n   "output": "3, with [brackets] and \\"quotes\\""},\n'
          '  {"instruction": "d" "output": "4"}\n]\n')


if __name__ == "__main__":
    main()

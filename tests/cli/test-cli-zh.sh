#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: temper-cli's error paths speak Chinese under LANGUAGE=zh_CN, engine
# messages included, also where only the C.UTF-8 locale exists.
#
# Each case runs a command that must fail and checks every line it prints on
# stderr.  A line passes when, after removing what is not a sentence of
# Temper's (text in “…”, "…" or ‘…’ quotes, which are paths and values; words
# with a / or a file extension; --options; the "temper-cli COMMAND:" prefix),
# no three English words in a row are left, and it has a Chinese character
# unless nothing is left but values.  An untranslated sentence always has a
# run of three words (“is not a”, “could not be”), so it fails.
set -u
cli=$1
src=$2
fixtures=$src/tests/fixtures
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-cli-zh-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Prints the lines of stdin that still hold an English sentence.
english_lines() {
  python3 -c '
import re, sys
words = re.compile(r"[A-Za-z][A-Za-z\x27]*(?:\s+[A-Za-z][A-Za-z\x27]*){2,}")
cjk = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
for line in sys.stdin.read().splitlines():
    rest = re.sub(r"^temper-cli( [a-z]+)*[:：]", " ", line)
    rest = re.sub(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’|「[^」]*」", " ", rest)
    rest = " ".join(w for w in rest.split()
                    if "/" not in w and not w.startswith("-")
                    and not re.search(r"\w\.(gguf|json|jsonl|safetensors|bin)\b", w))
    if words.search(rest) or (re.search(r"[A-Za-z]{3}", rest) and not cjk.search(rest)):
        print(line)
'
}

# check NAME EXPECTED_EXIT COMMAND… : runs the command under $zh_env.
check() {
  local name=$1 want=$2 rc bad
  shift 2
  env $zh_env "$cli" "$@" >/dev/null 2>"$tmp/err" </dev/null
  rc=$?
  bad=$(english_lines <"$tmp/err")
  if [ "$rc" = "$want" ] && [ -s "$tmp/err" ] && [ -z "$bad" ]; then
    ok "$name"
  else
    not_ok "$name (exit $rc, wanted $want)"
    sed 's/^/# stderr: /' "$tmp/err"
    [ -n "$bad" ] && sed 's/^/# English: /' <<<"$bad"
  fi
}

# Files that are not what they claim to be.
printf 'hello, not a model\n' >"$tmp/text.gguf"
: >"$tmp/empty.gguf"
mkdir -p "$tmp/not-a-model" "$tmp/not-a-run"
printf '{"oops": 1}\n' >"$tmp/not-a-run/settings.json"
# A well-formed GGUF of an architecture Temper does not train: magic, version
# 3, no tensors, one metadata entry general.architecture = "mamba".
printf 'GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00' >"$tmp/mamba.gguf"
printf '\x14\x00\x00\x00\x00\x00\x00\x00general.architecture\x08\x00\x00\x00' >>"$tmp/mamba.gguf"
printf '\x05\x00\x00\x00\x00\x00\x00\x00mamba' >>"$tmp/mamba.gguf"
tiny=$fixtures/model/hf-tiny-llama
good_data=$fixtures/datasets/alpaca.jsonl

# LANGUAGE asks for Chinese; the only locale is C.UTF-8 (LC_ALL unset).
zh_env="-u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 LANGUAGE=zh_CN"

check "no command" 2
check "unknown command" 2 frobnicate
for c in info "dataset check" tokenize devices train resume compare evaluate export chat "bench train" "bench generate"; do
  # shellcheck disable=SC2086
  check "$c: unknown option" 2 $c --no-such-option
done
check "info: no model given" 2 info
check "info: a file that does not exist" 1 info "$tmp/missing.gguf"
check "info: a text file named .gguf" 1 info "$tmp/text.gguf"
check "info: an empty file" 1 info "$tmp/empty.gguf"
check "info: a folder that is not a model" 1 info "$tmp/not-a-model"
check "info: an architecture Temper does not know" 1 info "$tmp/mamba.gguf"
check "tokenize: no text given" 2 tokenize "$tiny"
check "dataset check: no file" 2 dataset check
check "dataset check: a file that does not exist" 1 dataset check "$tmp/missing.jsonl"
check "dataset check: an unknown format" 2 dataset check "$good_data" --format csv
check "dataset check: --max-length without --model" 2 dataset check "$good_data" --max-length 10
check "dataset check: nothing usable" 1 dataset check "$fixtures/datasets/all-bad.jsonl"
check "dataset check: not JSON at all" 1 dataset check "$fixtures/datasets/not-json.jsonl" --format text
check "dataset check: UTF-16 text" 1 dataset check "$fixtures/datasets/utf16.jsonl"
check "dataset check: an empty list" 1 dataset check "$fixtures/datasets/empty-array.json"
check "train: no model or data" 2 train
check "train: epochs and steps both" 2 train --model "$tiny" --data "$good_data" --epochs 2 --max-steps 3
check "train: an unknown backend" 2 train --model "$tiny" --data "$good_data" --backend abacus
check "train: a rank out of range" 2 train --model "$tiny" --data "$good_data" --rank 0 --out "$tmp/run-rank"
check "train: a model that is not a model" 1 train --model "$tmp/text.gguf" --data "$good_data" --out "$tmp/run-text"
check "train: a dataset with bad records" 1 train --model "$tiny" --data "$fixtures/datasets/missing-fields.jsonl" --out "$tmp/run-bad"
check "resume: a run that does not exist" 1 resume "$tmp/no-such-run"
check "resume: a folder that is not a run" 1 resume "$tmp/not-a-run"
check "compare: a run that does not exist" 1 compare "$tmp/no-such-run"
check "evaluate: a run that does not exist" 1 evaluate "$tmp/no-such-run"
check "export: an unknown format" 2 export "$fixtures/export/peft-made" --format zip --out "$tmp/x"
check "export: an adapter that does not exist" 1 export "$tmp/no-such-adapter" --format peft --out "$tmp/out" --model "$tiny"
check "export: an adapter made for another model" 1 export "$fixtures/export/peft-made" --format gguf-adapter --out "$tmp/a.gguf" --model "$tiny"
# A real run of the tiny test model (one step, well under a second).
if env -u LANGUAGE "$cli" train --model "$tiny" --data "$good_data" --max-steps 1 --out "$tmp/run" >/dev/null 2>&1; then
  check "train: into a folder that already holds a run" 1 train --model "$tiny" --data "$good_data" --max-steps 1 --out "$tmp/run"
  check "export: into a folder that does not exist" 1 export "$tmp/run" --format peft --out "$tmp/no/such/folder"
  check "evaluate: general questions that do not exist" 1 evaluate "$tmp/run" --general "$tmp/missing.jsonl" --limit 1 --max-tokens 2
else
  not_ok "a one-step run of the tiny model trains"
fi
check "chat: a model that does not exist" 1 chat "$tmp/missing.gguf" -p hi
check "chat: an adapter that does not exist" 1 chat "$tiny" --adapter "$tmp/no-such-adapter" -p hi
check "bench train: bad sizes" 2 bench train "$tiny" --seq 0
check "bench generate: no model" 2 bench generate

# LC_ALL=C with LANGUAGE: glibc alone would ignore LANGUAGE here.
zh_env="LC_ALL=C LANGUAGE=zh_CN"
check "LC_ALL=C LANGUAGE=zh_CN: a file that does not exist" 1 info "$tmp/missing.gguf"
check "LC_ALL=C LANGUAGE=zh_CN: a rank out of range" 2 train --model "$tiny" --data "$good_data" --rank 0 --out "$tmp/run-rank2"
# LANG names a locale that is not generated here.
zh_env="-u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8"
check "LANG=zh_CN.UTF-8 without that locale: a file that does not exist" 1 info "$tmp/missing.gguf"

# The checker itself: an English engine message is caught.
if [ -n "$(english_lines <<<'temper-cli info: “/x/y.gguf” is not a GGUF model file (it does not start with “GGUF”).')" ] &&
   [ -z "$(english_lines <<<'temper-cli info: “/x/y.gguf” 不是 GGUF 模型文件（它不以“GGUF”开头）。')" ]; then
  ok "the checker finds English sentences and passes Chinese ones"
else
  not_ok "the checker finds English sentences and passes Chinese ones"
fi

echo "1..$n"
exit $fail

#!/bin/sh
# SPDX-License-Identifier: MIT
# Compares Temper's inference speed with llama.cpp's on the same GGUF files
# and the same number of threads.  A benchmark, not a test: it prints figures.
#
#   tests/bench/compare-llama-cpp.sh LLAMA_BIN_DIR [THREADS] [TEMPER_CLI]
#
# LLAMA_BIN_DIR holds llama-bench and llama-quantize built from source, e.g.
#   cmake -B /tmp/llama-build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
#   cmake --build /tmp/llama-build -j2 --target llama-bench llama-quantize
# (then LLAMA_BIN_DIR is /tmp/llama-build/bin).  THREADS defaults to 1,
# TEMPER_CLI to the one in ./build.
#
# The demo model (or SOURCE=FILE.gguf) is converted by llama.cpp's own
# llama-quantize into each of TYPES (default below; Q4_1 is the demo file
# itself) in WORK (default build/compare-llama-cpp/), once; an entry of
# TYPES that ends in .gguf is a file timed as it is (e.g. a real Q4_K_M
# download such as Gemma 3 270M), labelled by its name.  Then, ROUNDS
# times (default 3), each file is timed by llama-bench and by `temper-cli
# bench generate` one after the other (interleaved, so a busy machine slows
# both alike): generation of 64 tokens (tg64) and a 512-token prompt
# (pp512), from an empty cache, REPETITIONS times each (default 3).  Each
# round prints Temper ÷ llama.cpp per type; above 1 Temper is faster.
# Each round also prints `uptime`: figures from a loaded machine are ratios,
# not absolutes.  First it prints both builds: Temper's bench header and
# llama-bench's build commit, CPU, backends and thread settings (with the
# GGML options of the CMakeCache.txt beside LLAMA_BIN_DIR, when there is one).
# BASELINE=OTHER_TEMPER_CLI also times a second Temper build (e.g. main's)
# right after the first, on the same files: each row then ends with its
# figures and ratios too, so a change is judged within one sitting.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:?usage: $0 LLAMA_BIN_DIR [THREADS] [TEMPER_CLI]}
threads=${2:-1}
temper_cli=${3:-$here/build/app/cli/temper-cli}
source_model=${SOURCE:-$here/data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
types=${TYPES:-Q4_1 Q8_0 Q4_0 Q5_0 Q5_1 F16 BF16 Q4_K_M Q5_K_M Q6_K Q2_K Q3_K_M IQ4_NL IQ4_XS}
work=${WORK:-$here/build/compare-llama-cpp}
rounds=${ROUNDS:-3}
reps=${REPETITIONS:-3}
prompt=${PROMPT_TOKENS:-512}
gen=${GEN_TOKENS:-64}
baseline=${BASELINE:-}

for tool in llama-bench llama-quantize; do
  [ -x "$bin/$tool" ] || { echo "$0: no $tool in $bin" >&2; exit 2; }
done
[ -x "$temper_cli" ] || { echo "$0: no temper-cli at $temper_cli" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "$0: no temper-cli at $baseline" >&2; exit 2; }
mkdir -p "$work"

# One file per type.  The source is already quantized, so llama-quantize is
# told it may requantize; a type whose rows it cannot hold (the K types need
# rows that are multiples of 256) is replaced by its own fallback, which its
# log names.
model_for () {
  case $1 in *.gguf) echo "$1"; return ;; esac
  base=$(basename "$source_model" .gguf)
  if [ "$1" = "$(echo "$base" | sed 's/.*\.//')" ]; then
    echo "$source_model"
    return
  fi
  out="$work/$(echo "$base" | sed 's/\.[^.]*$//').$1.gguf"
  if [ ! -s "$out" ]; then
    "$bin/llama-quantize" --allow-requantize "$source_model" "$out" "$1" \
      > "$out.log" 2>&1 || { echo "$0: llama-quantize failed for $1, see $out.log" >&2; exit 1; }
  fi
  echo "$out"
}

for entry in $types; do
  model_for "$entry" > /dev/null
done

# What tells two sittings apart, once: Temper's header (processor, flags,
# threads and the CPUs they may use, commit, build), llama.cpp's build as
# llama-bench reports it and the options it was configured with.
echo "== Temper"
"$temper_cli" bench generate "$source_model" --threads "$threads" --prompt-tokens 1 --gen-tokens 1 \
  --repetitions 1 2>/dev/null | sed -n '1,/^model:/p' | sed '$d'
echo "== llama.cpp"
"$bin/llama-bench" -m "$source_model" -t "$threads" -p 8 -n 0 -r 1 -o csv 2>/dev/null |
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[i] = $i } next }
           NR == 2 { gsub(/"/, "")
                     for (i = 1; i <= NF; i++)
                       if (col[i] ~ /^(build_commit|build_number|cpu_info|backends|n_threads|cpu_mask|cpu_strict|poll|n_batch|n_ubatch|type_k|type_v|flash_attn|use_mmap)$/)
                         printf "%-17s %s\n", col[i] ":", $i }' || echo "llama-bench gave no build information"
cache="$bin/../CMakeCache.txt"
if [ -f "$cache" ]; then
  grep -E '^(CMAKE_BUILD_TYPE|CMAKE_C_COMPILER|GGML_NATIVE|GGML_AVX[A-Z0-9_]*|GGML_AMX[A-Z0-9_]*|GGML_F16C|GGML_FMA|GGML_BLAS|GGML_OPENMP|GGML_CPU_[A-Z0-9_]*):' "$cache" |
    sed 's/:[A-Z]*=/ = /' | awk '{ printf "cmake:            %s\n", $0 }'
fi

# llama-bench's CSV: avg_ts of the row with n_gen = N (and no prompt) or
# n_prompt = N (and no generation).
llama_rate () {  # CSV, column (n_gen or n_prompt), N
  echo "$1" | awk -F, -v which="$2" -v n="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i } next }
    { gsub(/"/, "") }
    which == "n_gen" && $col["n_gen"] == n && $col["n_prompt"] == 0 { print $col["avg_ts"] }
    which == "n_prompt" && $col["n_prompt"] == n && $col["n_gen"] == 0 { print $col["avg_ts"] }'
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds, $threads thread(s): $(uptime)"
  printf '%-8s %10s %10s %6s   %10s %10s %6s' type "llama tg$gen" "Temper" ratio \
    "llama pp$prompt" "Temper" ratio
  if [ -n "$baseline" ]; then
    printf '   %10s %6s %10s %6s\n' "base tg$gen" ratio "base pp$prompt" ratio
  else
    printf '\n'
  fi
  for entry in $types; do
    model=$(model_for "$entry")
    type=$(basename "$entry" .gguf | cut -c1-8)
    # A llama-bench that fails (a build for another processor stops with
    # "Illegal instruction") gives no rate: its ratios print as n/a.
    llama_out=$("$bin/llama-bench" -m "$model" -t "$threads" -p "$prompt" -n "$gen" \
                -r "$reps" -o csv 2>/dev/null) ||
      { echo "$type: llama-bench failed (exit $?)" >&2; llama_out=""; }
    temper_out=$("$temper_cli" bench generate "$model" --threads "$threads" \
                 --prompt-tokens "$prompt" --gen-tokens "$gen" --repetitions "$reps" 2>&1) ||
      { printf '%-8s Temper could not run it: %s\n' "$type" "$(echo "$temper_out" | tail -n 1)"; continue; }
    base_tg=0 base_pp=0
    if [ -n "$baseline" ]; then
      base_out=$("$baseline" bench generate "$model" --threads "$threads" \
                 --prompt-tokens "$prompt" --gen-tokens "$gen" --repetitions "$reps" 2>&1) || base_out=""
      base_tg=$(echo "$base_out" | awk '/^tg/ { print $2 }')
      base_pp=$(echo "$base_out" | awk '/^pp/ { print $2 }')
    fi
    llama_tg=$(llama_rate "$llama_out" n_gen "$gen")
    llama_pp=$(llama_rate "$llama_out" n_prompt "$prompt")
    temper_tg=$(echo "$temper_out" | awk '/^tg/ { print $2 }')
    temper_pp=$(echo "$temper_out" | awk '/^pp/ { print $2 }')
    awk -v type="$type" -v lt="${llama_tg:-0}" -v tt="${temper_tg:-0}" \
        -v lp="${llama_pp:-0}" -v tp="${temper_pp:-0}" -v base="$baseline" \
        -v bt="${base_tg:-0}" -v bp="${base_pp:-0}" 'BEGIN {
      printf "%-8s %10.2f %10.2f %6s   %10.2f %10.2f %6s", type,
             lt, tt, (lt > 0 ? sprintf("%.2f", tt / lt) : "n/a"),
             lp, tp, (lp > 0 ? sprintf("%.2f", tp / lp) : "n/a")
      if (base != "")
        printf "   %10.2f %6s %10.2f %6s", bt, (lt > 0 ? sprintf("%.2f", bt / lt) : "n/a"),
               bp, (lp > 0 ? sprintf("%.2f", bp / lp) : "n/a")
      printf "\n"
    }'
  done
done

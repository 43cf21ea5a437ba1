#!/bin/sh
# Compares Temper's decoding speed with llama.cpp's on the same GGUF and the
# same number of threads.  A benchmark, not a test: it prints figures.
#
#   tests/bench/compare-llama-cpp.sh LLAMA_BENCH [MODEL] [THREADS] [TEMPER_CLI]
#
# LLAMA_BENCH is a llama-bench binary built from source, e.g.
#   cmake -B /tmp/llama-build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
#   cmake --build /tmp/llama-build -j2 --target llama-bench
# MODEL defaults to the demo model, THREADS to 2, TEMPER_CLI to the one in
# ./build.  Both programs run the same tests: a 64-token prompt (pp64) and 64
# generated tokens (tg64), each from an empty cache, several repetitions.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
llama_bench=${1:?usage: $0 LLAMA_BENCH [MODEL] [THREADS] [TEMPER_CLI]}
model=${2:-$here/data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
threads=${3:-2}
temper_cli=${4:-$here/build/app/cli/temper-cli}
reps=${REPETITIONS:-5}

echo "== llama.cpp: $llama_bench -m $model -t $threads -p 64 -n 64 -r $reps"
llama_out=$("$llama_bench" -m "$model" -t "$threads" -p 64 -n 64 -r "$reps" -o csv)
echo "$llama_out"
echo
echo "== Temper: $temper_cli bench generate $model --threads $threads -p 64 -n 64 -r $reps"
temper_out=$("$temper_cli" bench generate "$model" --threads "$threads" --prompt-tokens 64 \
             --gen-tokens 64 --repetitions "$reps")
echo "$temper_out"
echo

# llama-bench's CSV: the avg_ts column of the row whose n_gen is 64 (tg) and
# whose n_prompt is 64 (pp).
llama_tg=$(echo "$llama_out" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i } next }
  { gsub(/"/, "") } $col["n_gen"] == 64 && $col["n_prompt"] == 0 { print $col["avg_ts"] }')
llama_pp=$(echo "$llama_out" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i } next }
  { gsub(/"/, "") } $col["n_prompt"] == 64 && $col["n_gen"] == 0 { print $col["avg_ts"] }')
temper_tg=$(echo "$temper_out" | awk '/^tg/ { print $2 }')
temper_pp=$(echo "$temper_out" | awk '/^pp/ { print $2 }')

awk -v lt="$llama_tg" -v tt="$temper_tg" -v lp="$llama_pp" -v tp="$temper_pp" 'BEGIN {
  printf "generation (tg64):        llama.cpp %8.2f t/s   Temper %8.2f t/s   ratio %.2f\n", lt, tt, tt / lt
  printf "prompt processing (pp64): llama.cpp %8.2f t/s   Temper %8.2f t/s   ratio %.2f\n", lp, tp, tp / lp
}'

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: `temper-cli runs` lists the runs as the app's Runs page does, and
# `temper-cli ratings` sums up and exports the ratings the app's Compare page
# writes (RUN/ratings.json); new runs are named after the model's readable
# name, the dataset and the time.  On the tiny Hugging Face model (seconds).
set -u
cli=$1
model=$(realpath "$2")
data=$(realpath "$3")
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-cli-runs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/data
runs=$XDG_DATA_HOME/temper/runs
echo '{"val_fraction": 0}' >"$tmp/no-validation.json"
cp "$data" "$tmp/support answers.jsonl"

# ---- naming ---------------------------------------------------------------------

out=$("$cli" runs 2>&1); rc=$?
check "runs before any run: exit 0, says there are none" '[ $rc = 0 ] && grep -q "No training runs" <<<"$out"'

"$cli" train --model "$model" --data "$tmp/support answers.jsonl" --config "$tmp/no-validation.json" \
  --max-steps 2 --batch 1 --threads 1 -y >/dev/null 2>&1; rc=$?
run=$(ls "$runs" 2>/dev/null | head -1)
check "train without --out makes a run in the runs folder" '[ $rc = 0 ] && [ -n "$run" ]'
check "the run is named after the date, the model and the dataset ($run)" \
  'grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}-hf-tiny-llama-support-answers$" <<<"$run"'

# ---- listing --------------------------------------------------------------------

"$cli" runs --json >"$tmp/runs.json"; rc=$?
check "runs --json exits 0" '[ $rc = 0 ]'
# What the list says against what the run folder holds, read here.
verdict=$(python3 - "$runs/$run" "$tmp/runs.json" <<'PY'
import json, sys, math
d = json.load(open(sys.argv[2]))
run_dir = sys.argv[1]
lines = [json.loads(l) for l in open(run_dir + "/metrics.jsonl") if l.strip()]
r = d["runs"][0]
problems = []
if len(d["runs"]) != 1: problems.append("runs: %d" % len(d["runs"]))
if r["dir"] != run_dir: problems.append("dir " + r["dir"])
if r["state"] != "finished": problems.append("state " + r["state"])
if r["model"] != "hf-tiny-llama": problems.append("model %r" % r["model"])
if r["dataset"] != "support answers.jsonl": problems.append("dataset %r" % r["dataset"])
if r["step"] != lines[-1]["step"] or r["step"] != 2: problems.append("step %r" % r["step"])
if not math.isclose(r["loss"], lines[-1]["loss"], rel_tol=1e-6): problems.append("loss %r" % r["loss"])
if r["val_loss"] is not None: problems.append("val_loss %r" % r["val_loss"])
if r["locked_by"] is not None: problems.append("locked_by %r" % r["locked_by"])
if not r["created"] or not r["created"].startswith("20"): problems.append("created %r" % r["created"])
print("; ".join(problems) or "ok")
PY
)
check "runs --json gives the run's state, model, dataset, step and loss ($verdict)" '[ "$verdict" = ok ]'

out=$("$cli" runs); rc=$?
check "runs lists it in words" \
  '[ $rc = 0 ] && grep -q "^$run$" <<<"$out" && grep -q "finished" <<<"$out" && grep -q "hf-tiny-llama" <<<"$out"'

mkdir -p "$tmp/other/2030-01-01-000000-broken" "$tmp/other/holiday-photos"
echo '{ not json' >"$tmp/other/2030-01-01-000000-broken/settings.json"
json=$("$cli" runs "$tmp/other" --json); rc=$?
verdict=$(python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"]
ok = len(r) == 1 and r[0]["state"] == "unreadable" and "settings.json" in r[0]["problem"]
print("ok" if ok else r)' <<<"$json")
check "runs FOLDER lists a damaged run with the reason and skips other folders ($verdict)" '[ $rc = 0 ] && [ "$verdict" = ok ]'

err=$("$cli" runs "$tmp/other" "$tmp" 2>&1 >/dev/null); rc=$?
check "runs with two folders: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'
err=$("$cli" runs "$tmp/no-such-folder" 2>&1 >/dev/null); rc=$?
check "runs with a missing folder: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'

# ---- ratings --------------------------------------------------------------------

err=$("$cli" ratings "$runs/$run" 2>&1 >/dev/null); rc=$?
check "ratings of a run nobody rated: exit 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ]'

# Three prompts as the Compare page writes them: the tuned answer better, a
# tie, and one not judged yet; a formula-looking answer.
cat >"$runs/$run/ratings.json" <<'JSON'
{
  "version": 1, "seed": "7", "sources": ["base", "final"],
  "prompts": [
    {"prompt": "How do I reset my password?", "origin": "validation", "verdict": "final", "note": "clearer",
     "answers": {"base": {"text": "=1+1", "relevance": 2, "accuracy": null, "style": null},
                 "final": {"text": "Open Settings, then Reset.", "relevance": 5, "accuracy": 4, "style": null}}},
    {"prompt": "Where is my order?", "origin": "own", "verdict": "tie", "note": null,
     "answers": {"base": {"text": "Shipped.", "relevance": null, "accuracy": null, "style": null},
                 "final": {"text": "It shipped, yes.", "relevance": null, "accuracy": null, "style": null}}},
    {"prompt": "Can I pay by card?", "origin": "own", "verdict": null, "note": null, "answers": {}}
  ]
}
JSON
out=$("$cli" ratings "$runs/$run"); rc=$?
check "ratings RUN sums up: 3 prompts, 2 judged, 1 tuned better, 1 tie" \
  '[ $rc = 0 ] && grep -Eq "^Prompts: +3$" <<<"$out" && grep -Eq "^Judged: +2$" <<<"$out" &&
   grep -Eq "^Tuned better: +1$" <<<"$out" && grep -Eq "^Ties: +1$" <<<"$out" && grep -Eq "^Base better: +0$" <<<"$out"'

"$cli" ratings "$runs/$run" --export "$tmp/ratings.csv" >/dev/null; rc=$?
verdict=$(python3 - "$tmp/ratings.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
problems = []
if len(rows) != 6: problems.append("rows %d" % len(rows))
first = [r for r in rows if r["prompt_number"] == "1" and r["model"] == "base"][0]
if first["answer"] != "'=1+1": problems.append("formula cell %r" % first["answer"])
if first["relevance"] != "2" or first["verdict"] != "final" or first["origin"] != "validation": problems.append(repr(first))
tuned = [r for r in rows if r["prompt_number"] == "1" and r["model"] == "final"][0]
if (tuned["relevance"], tuned["accuracy"], tuned["style"]) != ("5", "4", ""): problems.append(repr(tuned))
if sorted(r["blind_position"] for r in rows if r["prompt_number"] == "2") != ["A", "B"]: problems.append("positions")
print("; ".join(problems) or "ok")
PY
)
check "ratings --export out.csv: one row per answer, scores, verdict, safe cells ($verdict)" '[ $rc = 0 ] && [ "$verdict" = ok ]'

"$cli" ratings "$runs/$run" --export "$tmp/ratings.json" >/dev/null; rc=$?
verdict=$(python3 - "$tmp/ratings.json" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
problems = []
if (s["prompts"], s["judged"], s["tuned_better"], s["base_better"], s["ties"]) != (3, 2, 1, 0, 1): problems.append(repr(s))
# wins + ties/2 over judged, and its 95 % Wilson interval, computed here.
n, p, z = 2, (1 + 0.5) / 2, 1.959963984540054
centre = (p + z * z / (2 * n)) / (1 + z * z / n)
half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
if not math.isclose(s["win_rate"], p, rel_tol=1e-9): problems.append("rate %r" % s["win_rate"])
if not (math.isclose(s["win_rate_95"][0], centre - half, abs_tol=1e-6) and math.isclose(s["win_rate_95"][1], centre + half, abs_tol=1e-6)):
    problems.append("interval %r" % s["win_rate_95"])
if s["picked"] != {"base": 0, "final": 1}: problems.append("picked %r" % s["picked"])
if len(d["prompts"]) != 3 or d["prompts"][0]["note"] != "clearer": problems.append("prompts")
print("; ".join(problems) or "ok")
PY
)
check "ratings --export out.json: the ratings with their summary ($verdict)" '[ $rc = 0 ] && [ "$verdict" = ok ]'

echo precious >"$tmp/mine.csv"
err=$("$cli" ratings "$runs/$run" --export "$tmp/mine.csv" 2>&1 >/dev/null); rc=$?
check "ratings --export over an existing file is refused and leaves it alone" \
  '[ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && [ "$(cat "$tmp/mine.csv")" = precious ]'
err=$("$cli" ratings "$runs/$run" --export "$tmp/out.txt" 2>&1 >/dev/null); rc=$?
check "ratings --export to a name that is neither .csv nor .json: exit 2, one line" \
  '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] && [ ! -e "$tmp/out.txt" ]'
err=$("$cli" ratings 2>&1 >/dev/null); rc=$?
check "ratings without a run: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]'
echo '{"seed": "7", "sources": ["base"], "prompts": []}' >"$runs/$run/ratings.json"
err=$("$cli" ratings "$runs/$run" 2>&1 >/dev/null); rc=$?
check "a damaged ratings file: exit 1, one line naming it" \
  '[ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "ratings.json" <<<"$err"'

echo "1..$n"
exit $fail

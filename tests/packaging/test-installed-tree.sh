#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP: Temper works once installed, with nothing from the source or build
# folders.  Installs this build into a temporary folder (meson install
# --destdir), then runs the installed programs inside a bubblewrap sandbox
# whose source and build folders are empty tmpfs mounts: the CLI's path
# (dataset check → train a few steps → evaluate → export) on the installed
# sample, and the window from its first run to the sample dataset loaded
# ("Try the sample data").  The installed programs find their files from
# their own location (engine/core/temper-install-paths.c), so the temporary
# prefix needs no bind mount; the demo model, which a real install does not
# have, is mounted where the Flatpak's demo-model module installs it.
#   test-installed-tree.sh MESON PREFIX APP_ID DEMO_MODEL [GUI_CHECK]
set -u
meson=$1
prefix=$2
app_id=$3
model=$4
gui_check=${5:-}
src=$(realpath "${TEMPER_SOURCE_DIR:?}")
build=$(realpath "${TEMPER_BUILD_DIR:?}")
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
comment() { sed 's/^/# /' "$@"; }

if ! command -v bwrap >/dev/null 2>&1; then
  echo "1..0 # SKIP bubblewrap is not installed (apt install bubblewrap), so the source tree cannot be hidden"
  exit 0
fi
if ! bwrap --dev-bind / / --die-with-parent true 2>/dev/null; then
  echo "1..0 # SKIP bwrap cannot make a sandbox on this machine (unprivileged user namespaces are off)"
  exit 0
fi
if [ ! -f "$model" ]; then
  echo "1..0 # SKIP the demo model is not downloaded ($model; make demo fetches it)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/temper-installed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$src"/*|"$build"/*)
  echo "1..0 # SKIP the temporary folder $tmp lies inside the source or build folder"; exit 0;;
esac
dest=$tmp/dest
root=$dest$prefix
home=$tmp/home
mkdir -p "$home"

"$meson" install -C "$build" --destdir "$dest" --no-rebuild >"$tmp/install.log" 2>&1; rc=$?
[ $rc = 0 ] || comment "$tmp/install.log"
check "meson install --destdir into a temporary folder" '[ $rc = 0 ]'

data=$root/share/temper
for f in "bin/temper-cli" "share/temper/samples/product-faq.jsonl" "share/temper/samples/broken-example.jsonl" \
         "share/temper/eval/general-knowledge.jsonl" \
         "share/icons/hicolor/scalable/apps/$app_id.svg" "share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" \
         "share/glib-2.0/schemas/io.github.temper.Temper.gschema.xml" \
         "share/locale/zh_CN/LC_MESSAGES/temper.mo" \
         "share/applications/$app_id.desktop" "share/metainfo/$app_id.metainfo.xml" \
         "share/mime/packages/$app_id.xml"; do
  check "installed: $f" '[ -s "$root/$f" ]'
done

# The CUDA module, where this build has one, in <libdir>/temper.
if [ -f "$build/kernels/libtemper-cuda.so" ]; then
  check "installed: the CUDA module in <libdir>/temper" \
    '[ -n "$(find "$root" -path "*/temper/libtemper-cuda.so" -size +0)" ]'
fi

# Meson leaves compiling the schemas to the packaging system when installing
# into a --destdir (as dpkg's trigger or flatpak-builder does): do it here.
glib-compile-schemas "$root/share/glib-2.0/schemas"
check "the installed schema compiles" '[ -s "$root/share/glib-2.0/schemas/gschemas.compiled" ]'

# The demo model where the Flatpak's demo-model module puts it.
mkdir -p "$data/models"
touch "$data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
model_real=$(realpath "$model")

# An array, not a function, so xvfb-run can run it too.
sandbox=(bwrap --dev-bind / / --die-with-parent
  --tmpfs "$src" --tmpfs "$build"
  --ro-bind "$model_real" "$data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
  --unsetenv TEMPER_SOURCE_DIR --unsetenv TEMPER_BUILD_DIR --unsetenv GSETTINGS_SCHEMA_DIR
  --unsetenv HF_HOME --unsetenv HF_HUB_CACHE --unsetenv OLLAMA_MODELS
  --setenv HOME "$home" --setenv XDG_CONFIG_HOME "$home/.config"
  --setenv XDG_DATA_HOME "$home/.local/share" --setenv XDG_CACHE_HOME "$home/.cache"
  --setenv XDG_DATA_DIRS "$root/share:/usr/share"
  --chdir "$home" --)
# "Open with Temper": with the installed MIME package, a .gguf is a GGUF model
# by its signature (whatever its name) and a .jsonl a JSON Lines dataset.
update-mime-database "$root/share/mime" >/dev/null 2>&1
head -c 65536 "$model_real" >"$home/model-without-suffix"
content_type() { "${sandbox[@]}" gio info -a standard::content-type "$1" 2>/dev/null | sed -n 's/^ *standard::content-type: //p'; }
check "the installed MIME package: GGUF by its signature, JSON Lines by name" \
  '[ "$(content_type "$home/model-without-suffix")" = application/x-gguf ] &&
   [ "$(content_type "$data/samples/product-faq.jsonl")" = application/jsonl ]'
rm -f "$home/model-without-suffix"

cli=$root/bin/temper-cli
demo=$data/models/SmolLM2-135M-Instruct.Q4_1.gguf
sample=$data/samples/product-faq.jsonl

check "inside the sandbox the source and build folders are empty" \
  '"${sandbox[@]}" sh -c "[ ! -e \"$src/meson.build\" ] && [ ! -e \"$build/build.ninja\" ] && [ -s \"$demo\" ]"'

"${sandbox[@]}" "$cli" dataset check "$sample" --model "$demo" >"$tmp/check.log" 2>&1; rc=$?
[ $rc = 0 ] || comment "$tmp/check.log"
check "dataset check on the installed sample, with the demo model" '[ $rc = 0 ]'

"${sandbox[@]}" "$cli" train --model "$demo" --data "$sample" --out "$home/run" --max-steps 2 --batch 2 \
  --max-length 64 --warmup 0 --threads 2 --eval-every 1000 --checkpoint-every 1000 -y \
  >"$tmp/train.log" 2>&1; rc=$?
[ $rc = 0 ] || comment "$tmp/train.log"
check "train two steps on the demo model" '[ $rc = 0 ] && [ -d "$home/run/adapter" ]'

# Without --general: the general questions come from the installed eval/.
"${sandbox[@]}" "$cli" evaluate "$home/run" --max-tokens 4 --threads 2 >"$tmp/evaluate.log" 2>&1; rc=$?
[ $rc = 0 ] || comment "$tmp/evaluate.log"
general=$(grep -c . "$data/eval/general-knowledge.jsonl")
check "evaluate asks the installed general questions" \
  '[ $rc = 0 ] && grep -q "General questions right: base [0-9]* of $general, tuned [0-9]* of $general" "$tmp/evaluate.log"'

"${sandbox[@]}" "$cli" export "$home/run" --format gguf-adapter --out "$home/adapter.gguf" >"$tmp/export.log" 2>&1; rc=$?
[ $rc = 0 ] || comment "$tmp/export.log"
check "export the adapter as GGUF" '[ $rc = 0 ] && [ -s "$home/adapter.gguf" ]'

# The window.  Under a virtual X server when there is no display.
gui_env=(env GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none NO_AT_BRIDGE=1 ADW_DISABLE_PORTAL=1
         GTK_USE_PORTAL=0 GSETTINGS_BACKEND=memory)
with_display() {
  if [ -n "${DISPLAY:-}" ]; then "$@"; else xvfb-run -a -s "-screen 0 1600x1000x24" "$@"; fi
}
if [ -z "$gui_check" ] || { [ -z "${DISPLAY:-}" ] && ! command -v xvfb-run >/dev/null 2>&1; }; then
  ok "the window from the installed tree # SKIP no GUI in this build, or no display and no xvfb-run"
else
  cp "$gui_check" "$root/bin/temper-installed-gui-check"
  with_display "${sandbox[@]}" "${gui_env[@]}" TEMPER_EXPECTED_DATADIR="$data" \
    "$root/bin/temper-installed-gui-check" --tap >"$tmp/gui.log" 2>&1; rc=$?
  rm -f "$root/bin/temper-installed-gui-check"
  comment "$tmp/gui.log"
  check "the window from the installed tree: built-in demo model chosen, sample data loaded" \
    '[ $rc = 0 ] && grep -q "^ok 1 " "$tmp/gui.log"'

  # The installed app itself starts and keeps running (killed after 8 s).
  with_display "${sandbox[@]}" "${gui_env[@]}" G_DEBUG=fatal-criticals timeout 8 "$root/bin/temper" \
    >"$tmp/app.log" 2>&1; rc=$?
  [ $rc = 124 ] || comment "$tmp/app.log"
  check "the installed temper starts and runs until stopped" '[ $rc = 124 ]'
fi

echo "1..$n"
exit $fail

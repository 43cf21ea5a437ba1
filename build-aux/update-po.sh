#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates po/temper.pot from the sources in po/POTFILES.in, brings
# po/zh_CN.po up to date with it, fills entries still untranslated there from
# the fragments in po/pending/*.po (one per branch, plain PO entries), removes
# the fragments whose every entry is now in the template, and prints the
# statistics.  Exits 1 when an entry is left untranslated or fuzzy.
#
#   build-aux/update-po.sh [BUILD_DIR]     (default: build; must be configured)
#
# Translations already in zh_CN.po win over a fragment's; a fragment's entry
# for a string that is not in the template (its branch is not merged yet)
# is kept in the fragment, which is then left in place.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
po=po/zh_CN.po
pot=po/temper.pot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ninja -C "$build" temper-pot >/dev/null
msgmerge --quiet --no-fuzzy-matching --previous -o "$tmp/merged.po" "$po" "$pot"

shopt -s nullglob
fragments=(po/pending/*.po)
if ((${#fragments[@]})); then
  # Later fragments never override earlier ones; all of them lose to what
  # zh_CN.po already translates (only its untranslated entries are filled).
  # Fragments are plain entries, often without a header: give each one that
  # says they are UTF-8, which msgcat needs.
  headed=()
  for f in "${fragments[@]}"; do
    h="$tmp/headed-$(basename "$f")"
    if grep -q '^msgid ""$' "$f"; then
      cp "$f" "$h"
    else
      printf 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' >"$h"
      cat "$f" >>"$h"
    fi
    headed+=("$h")
  done
  msgcat --use-first -o "$tmp/fragments.po" "${headed[@]}"
  msgattrib --translated -o "$tmp/have.po" "$tmp/merged.po"
  msgattrib --untranslated -o "$tmp/missing.po" "$tmp/merged.po"
  # The fragments' translations of what is missing, then everything else
  # (msgattrib writes no file when nothing is missing).
  if [ -s "$tmp/missing.po" ]; then
    msgmerge --quiet --no-fuzzy-matching -o "$tmp/filled.po" "$tmp/fragments.po" "$tmp/missing.po"
    msgcat --use-first -o "$tmp/all.po" "$tmp/have.po" "$tmp/filled.po"
  else
    cp "$tmp/have.po" "$tmp/all.po"
  fi
  # Back into the template's order, with its references, and the header of zh_CN.po.
  msgmerge --quiet --no-fuzzy-matching -o "$tmp/final.po" "$tmp/all.po" "$pot"
  msgcat --use-first -o "$tmp/merged.po" "$tmp/final.po"
  python3 - "$po" "$tmp/merged.po" <<'EOF'
import sys
old, new = sys.argv[1], sys.argv[2]
header = open(old, encoding="utf-8").read().split("\n\n", 1)[0]
body = open(new, encoding="utf-8").read().split("\n\n", 1)[1]
open(new, "w", encoding="utf-8").write(header + "\n\n" + body)
EOF
  for i in "${!fragments[@]}"; do
    f=${fragments[$i]}
    total=$(msgcat --no-wrap "${headed[$i]}" | grep -c '^msgid "[^"]' || true)
    common=$(msgcomm --more-than=1 --no-wrap "${headed[$i]}" "$pot" | grep -c '^msgid "[^"]' || true)
    if [ "$total" = "$common" ]; then
      echo "update-po: merged and removed $f ($total entries)"
      rm -f "$f"
    else
      echo "update-po: kept $f: $((total - common)) of its $total entries are not in the template yet"
    fi
  done
fi

msgattrib --no-obsolete -o "$po" "$tmp/merged.po"
msgfmt --check --statistics -o /dev/null "$po"
stats=$(msgfmt --statistics -o /dev/null "$po" 2>&1)
case $stats in
  *untranslated*|*fuzzy*) echo "update-po: $po still has untranslated or fuzzy entries" >&2; exit 1 ;;
esac

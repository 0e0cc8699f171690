#!/bin/sh
# Rewrites the generated documents from the option table (src/app/option_table*.cpp), through
# the built binary's hidden --generate-docs: docs/vit-classify.1 (from its template
# docs/vit-classify.1.in), completions/vit-classify.bash and completions/_vit-classify.
#
#   scripts/generate_docs.sh [--check] [BINARY]    (BINARY default: build/vit-classify)
#
# --check writes nothing: it exits 1 naming each committed file that differs from what the
# table makes now (CTest's check_docs runs it so).
set -eu
cd "$(dirname "$0")/.."
check=false
if [ "${1-}" = --check ]; then check=true; shift; fi
bin=${1:-build/vit-classify}
[ -x "$bin" ] || { echo "generate_docs.sh: no executable '$bin' (build vit-classify first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" --generate-docs man <docs/vit-classify.1.in >"$tmp/man"
"$bin" --generate-docs bash >"$tmp/bash"
"$bin" --generate-docs zsh >"$tmp/zsh"
status=0
for pair in "man docs/vit-classify.1" "bash completions/vit-classify.bash" "zsh completions/_vit-classify"; do
  set -- $pair
  if $check; then
    if ! cmp -s "$tmp/$1" "$2"; then
      echo "generate_docs.sh: $2 differs from what the option table makes; run scripts/generate_docs.sh:" >&2
      diff -u "$2" "$tmp/$1" | head -40 >&2 || true
      status=1
    fi
  elif ! cmp -s "$tmp/$1" "$2"; then
    cp "$tmp/$1" "$2"
    echo "generate_docs.sh: wrote $2"
  fi
done
exit $status

#!/usr/bin/env bash
# Fails, listing the files, when a tracked C++ file differs from .clang-format's style.
# Fix with: git ls-files '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed (apt-get install clang-format)" >&2; exit 1; }
bad=$(git ls-files '*.cpp' '*.h' | while read -r f; do clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
  echo "check_format: these files differ from .clang-format (run clang-format -i on them):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check_format: $(git ls-files '*.cpp' '*.h' | wc -l) files follow .clang-format ($(clang-format --version | grep -o 'version [0-9.]*'))"

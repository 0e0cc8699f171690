#!/usr/bin/env bash
# Would scripts/setup.sh work on a fresh, minimal Debian 12? Every file the build uses must come
# from a package that setup.sh's list pulls in WITHOUT Recommends (it installs with
# --no-install-recommends), or from a minimal Debian (Essential or Priority required packages).
# A machine that had a package from an earlier install hides its absence: this check does not.
#   scripts/check_fresh_debian.sh [BUILD_DIR] [--allow PKG]...      (BUILD_DIR default: build)
# The files: what CMake's configure opens (traced with strace into a scratch build folder),
# every header in BUILD_DIR's compiler dependency files (*.o.d), every library on its link
# lines. Exit 0: all covered; 1: names each package a fresh machine would lack, with a file of
# it; 2: could not check (no strace, no build, setup.sh lists no packages).
# After the idea of ../shared/tools/fresh-debian-check (the project keeps its own: users and
# CI clones have no ../shared).
set -uo pipefail
cd "$(dirname "$0")/.."

build=build
allow=()
while [ $# -gt 0 ]; do
  case $1 in
    --allow) allow+=("$2"); shift 2 ;;
    *) build=$1; shift ;;
  esac
done
command -v strace >/dev/null || { echo "check_fresh_debian: needs strace (apt-get install strace)" >&2; exit 2; }
[ -n "$(find "$build" -name '*.o.d' -print -quit 2>/dev/null)" ] ||
  { echo "check_fresh_debian: no compiler dependency files in '$build': build it first" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

scripts/setup.sh --packages > "$work/packages"
[ -s "$work/packages" ] || { echo "check_fresh_debian: scripts/setup.sh --packages printed nothing" >&2; exit 2; }

# What apt would install for them with --no-install-recommends, and what a minimal Debian has.
# shellcheck disable=SC2046
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances $(cat "$work/packages") 2>/dev/null | grep -v '^ ' | tr -d '<>' | sed 's/:.*//' | sort -u \
  > "$work/closure"
dpkg-query -W -f='${Package} ${Priority} ${Essential}\n' | awk '$2 == "required" || $3 == "yes" {print $1}' |
  sed 's/:.*//' > "$work/base"
printf '%s\n' "${allow[@]}" >> "$work/base"
sort -u -o "$work/base" "$work/base"

# The files: configure's (a scratch build folder, so that nothing is cached), the compiler's
# headers and the linker's libraries of the real build.
strace -f -qq -e trace=openat,open -o "$work/strace" \
  cmake -S . -B "$work/build" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1 ||
  { echo "check_fresh_debian: configure failed:" >&2; tail -20 "$work/configure.log" >&2; exit 1; }
grep -v -e ENOENT -e ENOTDIR "$work/strace" | grep -oE '"/usr/[^"]+"' | tr -d '"' > "$work/files"
find "$build" -name '*.o.d' -exec cat {} + | tr ' \\' '\n\n' | grep '^/usr/' >> "$work/files"
find "$build" -name link.txt -exec cat {} + | tr ' ' '\n' | grep -E '^/usr/.*\.(so|a)' >> "$work/files"
# Locale data is read where it exists and is optional (glibc's setlocale opens
# /usr/share/locale/locale.alias from the locales package when it is there): not a dependency.
sort -u "$work/files" | grep -v -e '^/usr/share/locale/' -e '^/usr/lib/locale/' |
  while read -r f; do [ -f "$f" ] && echo "$f"; done > "$work/used"

# Each file's package, by the path as used (a -dev package's libfoo.so link is its own file).
xargs -a "$work/used" dpkg -S 2>/dev/null | sed 's/: .*//; s/:amd64//g; s/, /\n/g' | sort -u > "$work/owners"
missing=$(comm -23 "$work/owners" <(sort -u "$work/closure" "$work/base"))
if [ -n "$missing" ]; then
  for p in $missing; do
    echo "  $p: $(dpkg -L "$p" 2>/dev/null | grep -Fx -f - "$work/used" | head -2 | tr '\n' ' ')"
  done
  echo "check_fresh_debian: the build uses packages that scripts/setup.sh does not install (add them to its" \
    "PACKAGES, or stop using them): $(echo $missing)"
  exit 1
fi
echo "check_fresh_debian: all $(wc -l < "$work/used") files the build uses come from setup.sh's packages" \
  "(without Recommends) or a minimal Debian"

#!/usr/bin/env bash
# Checks that vit-classify installs like a tool (CI runs it after the tests, on a machine that
# scripts/setup.sh set up, as root or with sudo): `cmake --install` into a temporary prefix,
# examples/ built against that prefix alone and run on a photo; then `cpack -G DEB`, the .deb
# installed with apt-get, the installed command run, its man page and bash completion found
# by man-db and bash-completion, and the package removed again. Prints each check; exits
# non-zero at the first that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PHOTO=/usr/lib/python3/dist-packages/skimage/data/chelsea.png  # class 285, Egyptian cat
MODEL=models/vit_tiny_patch16_224.safetensors
[ -e "$MODEL" ] || MODEL=../shared/models/vit_tiny_patch16_224.safetensors
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
TMP=$(mktemp -d)
DPKG_INCLUDE=/etc/dpkg/dpkg.cfg.d/zz-vit-classify-docs
ADDED_INCLUDE=0
cleanup() {
  rm -rf "$TMP"
  if [ "$ADDED_INCLUDE" = 1 ]; then $SUDO rm -f "$DPKG_INCLUDE"; fi
}
trap cleanup EXIT

ok() { echo "check_install: ok: $*"; }
fail() {
  echo "check_install: FAIL: $*" >&2
  exit 1
}
# Runs a classifier and checks that class 285 (Egyptian cat) comes first.
expect_cat() {
  local what=$1 out
  shift
  out=$("$@") || fail "$what exited $?"
  head -1 <<<"$out" | grep -Eq '^285 +Egyptian cat' || fail "$what: expected 285 Egyptian cat first, got: $out"
  ok "$what: 285 Egyptian cat first"
}
HAVE_MODEL=1
if [ ! -e "$MODEL" ] || [ ! -e "$PHOTO" ]; then
  HAVE_MODEL=0
  echo "check_install: note: no $MODEL or no $PHOTO: the classification checks are skipped"
fi

# --- cmake --install, and a program of one's own built against it -------------------------
PREFIX=$TMP/prefix
# What is installed and packaged is what is built: the command and the libraries under it.
cmake --build build -j"$(nproc)" --target vit-classify >"$TMP/build.log" 2>&1 || { tail -40 "$TMP/build.log"; fail "build"; }
cmake --install build --prefix "$PREFIX" >/dev/null
for f in bin/vit-classify share/man/man1/vit-classify.1.gz share/bash-completion/completions/vit-classify \
  share/zsh/vendor-completions/_vit-classify share/doc/vit-classify/README.md \
  lib/cmake/vit_classify/vit_classifyConfig.cmake lib/cmake/vit_classify/vit_classifyTargets.cmake \
  lib/libvit_io.a lib/libvit_explain.a include/vit/model/engine.h; do
  [ -e "$PREFIX/$f" ] || fail "cmake --install: $f is missing"
done
[ ! -e "$PREFIX/include/vit/app" ] || fail "cmake --install: include/vit/app (the command line's own headers) installed"
# Only the API's headers: each vit/ header an installed one includes is installed too, and none
# needs LibTorch's, oneDNN's or libcurl's headers to compile.
HEADERS=$(cd "$PREFIX/include" && find vit -name '*.h' | sort)
for h in $HEADERS; do
  for inc in $(sed -n 's|^#include "\(vit/[^"]*\)"|\1|p' "$PREFIX/include/$h"); do
    [ -e "$PREFIX/include/$inc" ] || fail "cmake --install: $h includes $inc, which is not installed"
  done
  ! grep -Eq '^#include <(torch|ATen|c10|caffe2|oneapi|curl)/' "$PREFIX/include/$h" ||
    fail "cmake --install: $h includes a library's internals ($(grep -E '^#include <(torch|ATen|c10|caffe2|oneapi|curl)/' "$PREFIX/include/$h" | head -1))"
done
ok "cmake --install: $(wc -w <<<"$HEADERS") API headers, each complete without LibTorch's headers"
ok "cmake --install: command, man page, completions, README, libraries, headers and CMake package"

cmake -S examples -B "$TMP/example" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$TMP/example" -j"$(nproc)" >"$TMP/example.log" 2>&1 || { tail -40 "$TMP/example.log"; fail "examples/ did not build"; }
# The example must see the installed headers, never the source tree's.
! grep -q -- "-I$PWD/include" "$TMP/example/compile_commands.json" || fail "examples/ compiled against the source tree"
ok "examples/ built with find_package(vit_classify) against $PREFIX"
if [ "$HAVE_MODEL" = 1 ]; then
  expect_cat "examples/classify" "$TMP/example/classify" "$MODEL" "$PHOTO"
  expect_cat "$PREFIX/bin/vit-classify" "$PREFIX/bin/vit-classify" -q -m "$MODEL" "$PHOTO"
fi

# --- the Debian package --------------------------------------------------------------------
# A minimal image's dpkg may drop /usr/share/man and /usr/share/doc (path-exclude, as Docker's
# and Ubuntu's minimal images do): let this package's own files in for this check.
if grep -Eqs '^path-exclude[= ]+/usr/share/(man|doc)' /etc/dpkg/dpkg.cfg.d/*; then
  printf '%s\n' 'path-include=/usr/share/man/man1/vit-classify.1.gz' 'path-include=/usr/share/doc/vit-classify/*' |
    $SUDO tee "$DPKG_INCLUDE" >/dev/null
  ADDED_INCLUDE=1
  echo "check_install: note: dpkg excludes /usr/share/man or doc here; $DPKG_INCLUDE lets this package's in"
fi
rm -f build/vit-classify_*.deb
(cd build && cpack -G DEB >"$TMP/cpack.log" 2>&1) || { tail -40 "$TMP/cpack.log"; fail "cpack -G DEB"; }
DEB=$(ls build/vit-classify_*_amd64.deb)
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
grep -q 'libtorch' <<<"$DEPENDS" || fail "$DEB: Depends lacks LibTorch: $DEPENDS"
grep -q 'libopencv-imgcodecs' <<<"$DEPENDS" || fail "$DEB: Depends lacks OpenCV: $DEPENDS"
[ "$(dpkg-deb -f "$DEB" Recommends)" = libopenblas0-openmp ] || fail "$DEB: Recommends is not libopenblas0-openmp"
CONTENTS=$(dpkg-deb -c "$DEB")
for f in ./usr/bin/vit-classify ./usr/share/man/man1/vit-classify.1.gz \
  ./usr/share/bash-completion/completions/vit-classify ./usr/share/zsh/vendor-completions/_vit-classify \
  ./usr/share/doc/vit-classify/README.md; do
  grep -q " $f\$" <<<"$CONTENTS" || fail "$DEB lacks $f"
done
! grep -Eq '\.a$|/include/' <<<"$CONTENTS" || fail "$DEB holds development files"
ok "$DEB: Depends: $DEPENDS; Recommends: libopenblas0-openmp"
dpkg-deb -f "$DEB" | grep -v '^ ' | sed 's/^/    /'

if dpkg -s vit-classify >/dev/null 2>&1; then $SUDO apt-get remove -y -qq vit-classify >/dev/null; fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "./$DEB" >"$TMP/apt.log" 2>&1 ||
  { cat "$TMP/apt.log"; fail "apt-get install ./$DEB"; }
ok "apt-get install ./$DEB"
dpkg -L vit-classify >"$TMP/files"
for f in /usr/bin/vit-classify /usr/share/man/man1/vit-classify.1.gz /usr/share/bash-completion/completions/vit-classify \
  /usr/share/zsh/vendor-completions/_vit-classify /usr/share/doc/vit-classify/README.md; do
  grep -qx "$f" "$TMP/files" || fail "dpkg -L vit-classify lacks $f"
  [ -e "$f" ] || fail "$f is listed by dpkg -L but not on disk (a dpkg path-exclude?)"
done
ok "dpkg -L vit-classify: $(wc -l <"$TMP/files") entries, each file on disk"
if [ "$HAVE_MODEL" = 1 ]; then expect_cat "/usr/bin/vit-classify" /usr/bin/vit-classify -q -m "$MODEL" "$PHOTO"; fi
/usr/bin/vit-classify --version | head -1 | grep -q '^vit-classify ' || fail "/usr/bin/vit-classify --version"

[ "$(man -w vit-classify)" = /usr/share/man/man1/vit-classify.1.gz ] || fail "man -w vit-classify: $(man -w vit-classify 2>&1)"
PAGE=$(MANWIDTH=80 man -P cat vit-classify 2>/dev/null)
for s in 'EXIT STATUS' ENVIRONMENT HF_HUB_OFFLINE '--records-format' EXAMPLES; do
  grep -q -- "$s" <<<"$PAGE" || fail "man vit-classify: no '$s'"
done
ok "man -w vit-classify: $(man -w vit-classify); the page renders"

# bash-completion's loader finds the file by the command's name on first use.
COMPLETE=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader vit-classify; complete -p vit-classify')
[ "$COMPLETE" = "complete -F _vit_classify vit-classify" ] || fail "bash-completion does not load the completion: $COMPLETE"
OFFERED=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader vit-classify
  COMP_WORDS=(vit-classify --form); COMP_CWORD=1; COMP_LINE="vit-classify --form"; COMP_POINT=${#COMP_LINE}
  _vit_classify vit-classify --form vit-classify; echo "${COMPREPLY[*]}"')
[ "$OFFERED" = "--format" ] || fail "bash completion of 'vit-classify --form' gave '$OFFERED'"
ok "bash-completion loads vit-classify's completion ($COMPLETE); --form completes to --format"

DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq vit-classify >/dev/null
[ ! -e /usr/bin/vit-classify ] || fail "apt-get remove left /usr/bin/vit-classify"
[ ! -e /usr/share/man/man1/vit-classify.1.gz ] || fail "apt-get remove left the man page"
ok "apt-get remove vit-classify: /usr/bin/vit-classify and its man page are gone"
echo "check_install: all checks passed"

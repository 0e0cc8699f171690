#!/usr/bin/env bash
# Sets up vit-classify on Debian 12: installs the packages it needs (OpenBLAS included, and
# checks LibTorch will use it), builds into build/, and puts a default model in models/.
#   scripts/setup.sh            everything
#   SKIP_APT=1 scripts/setup.sh build only (packages already there)
#   scripts/setup.sh --packages  print the Debian packages it installs, one a line, and exit
# It installs without Recommends, as a minimal machine would get them: scripts/check_fresh_debian.sh
# (run by CI) fails when the build uses a file from a package this list does not pull in.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ccache pkg-config clang-format
  libtorch-dev libopencv-dev libcli11-dev libspdlog-dev libgtest-dev nlohmann-json3-dev libssl-dev zlib1g-dev
  libcurl4-openssl-dev libdnnl-dev
  # CLIP's tokenizer: Unicode categories, case and normalisation
  libicu-dev
  # GTest's CMake config reads GMockTargets.cmake, which libgtest-dev does not depend on
  libgmock-dev
  libopenblas0-openmp
  # the reference implementation and test data for the tests
  python3 python3-torch python3-torchvision python3-pil python3-numpy python3-skimage mate-backgrounds
  # open_clip's tokenizer and its ftfy (../shared/reference), the tokenizer tests' oracle
  python3-regex python3-wcwidth
  # explain's HTML page is checked in headless Chromium
  chromium fonts-dejavu-core
  # the scale-out recipe test (GNU parallel), the installed man page and shell completion
  parallel man-db bash-completion
)
if [ "${1:-}" = --packages ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

if [ "${SKIP_APT:-0}" != 1 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

# LibTorch calls sgemm_ through libblas.so.3: Debian's reference BLAS there is ~20x slower.
ALT=libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
BLAS=$(update-alternatives --query "$ALT" 2>/dev/null | awk '/^Value:/ {print $2}')
case "$BLAS" in
  *openblas*|*blis*|*mkl*) echo "setup: BLAS is $BLAS" ;;
  *)
    echo "setup: libblas.so.3 points to '${BLAS:-nothing}'; switching to OpenBLAS"
    OB=$(update-alternatives --list "$ALT" | grep -m1 openblas || true)
    if [ -n "$OB" ]; then ${SUDO:-} update-alternatives --set "$ALT" "$OB"; else
      echo "setup: error: OpenBLAS is not installed (apt-get install libopenblas0-openmp)" >&2; exit 1; fi ;;
esac

echo "setup: building (Release) into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

# A default model in models/: downloaded where the network allows.
mkdir -p models
if ls models/*.safetensors models/*.pth models/*.pt >/dev/null 2>&1; then
  echo "setup: models/ already holds a model"
elif timeout 300 python3 scripts/fetch_models.py vit_tiny >/dev/null 2>&1; then
  echo "setup: downloaded timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k into the Hugging Face cache;"
  echo "       models/vit_tiny_patch16_224.safetensors links to it"
elif [ -f ../shared/models/vit_tiny_patch16_224.safetensors ]; then
  ln -sf "$(cd ../shared/models && pwd)/vit_tiny_patch16_224.safetensors" models/vit_tiny_patch16_224.safetensors
  echo "setup: no network to download weights; linked the shared test weights into models/"
else
  echo "setup: no network to download weights. Where there is one, build/vit-classify -m ORG/NAME fetches a"
  echo "       model by name; or copy a file over and run: build/vit-classify -m PATH/TO/model.safetensors photo.jpg"
fi
echo "setup: done. Try: build/vit-classify /usr/lib/python3/dist-packages/skimage/data/chelsea.png"

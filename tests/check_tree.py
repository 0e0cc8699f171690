#!/usr/bin/python3
"""Checks the source tree's house rules; exits 1 listing every breach.

    tests/check_tree.py SOURCE_DIR

1. Layers: src/L/ and include/vit/L/ include only vit/ headers of L itself or of a lower
   layer (app -> batch, explain -> model -> image -> io; text, CLIP's tokenizer, ranks with io);
   vit/errors.h and vit/vocabulary.h are for all. batch and explain do not include each other,
   nor do io and text.
2. Libraries: CLI11 only in app; LibTorch only in model (io has none: vit_io does not link
   it); OpenCV not in io or text.
3. Public headers mirror the sources: src/L/x.cpp has include/vit/L/x.h (main.cpp aside).
4. docs/architecture.md's table names every source file, and every path it names exists.
5. README.md stays a user's document: at most 500 lines (the measurement logs live in docs/).
6. CMakeLists.txt: the libraries below model (vit_io, vit_text, vit_image) link no LibTorch.
"""
import os
import re
import sys

RANK = {"io": 0, "text": 0, "image": 1, "model": 2, "batch": 3, "explain": 3, "app": 4}
BASE = {"vit/errors.h", "vit/vocabulary.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(rel):
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[:2] == ["include", "vit"] and len(parts) > 3:
        return parts[2]
    return None


def check_file(rel, text, errors):
    layer = layer_of(rel)
    if layer is None:
        if rel.startswith(("src/", "include/")) and not rel.endswith(("vit/errors.h", "vit/vocabulary.h")):
            errors.append(f"{rel}: outside the layer folders ({', '.join(RANK)})")
        return
    if layer not in RANK:
        errors.append(f"{rel}: unknown layer '{layer}'")
        return
    for kind, inc in INCLUDE.findall(text):
        if kind == '"' and inc.startswith("vit/"):
            if inc in BASE:
                continue
            target = inc.split("/")[1] if inc.count("/") >= 2 else None
            if target not in RANK:
                errors.append(f"{rel}: includes {inc}, outside the layer folders")
            elif target != layer and RANK[target] >= RANK[layer]:
                errors.append(f"{rel}: layer '{layer}' includes {inc} from layer '{target}' (arrows run app -> batch, "
                              "explain -> model -> image -> io, text only)")
        elif kind == "<":
            if inc.startswith("CLI/") and layer != "app":
                errors.append(f"{rel}: CLI11 ({inc}) outside src/app")
            if inc.startswith(("torch/", "ATen/", "caffe2/", "c10/")) and layer != "model":
                errors.append(f"{rel}: LibTorch ({inc}) outside src/model")
            if inc.startswith("opencv2/") and layer in ("io", "text"):
                errors.append(f"{rel}: OpenCV ({inc}) in the {layer} layer")


def check_layout_table(root, sources, errors):
    doc = "docs/architecture.md"
    text = open(os.path.join(root, doc), encoding="utf-8").read()
    named = set()
    for line in text.splitlines():
        if line.startswith("|"):
            named.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    if not named:
        errors.append(f"{doc}: no table of paths")
        return
    for path in sorted(named):
        if not os.path.exists(os.path.join(root, path)):
            errors.append(f"{doc} names {path}, which does not exist")
    for src in sources:
        if src not in named:
            errors.append(f"{doc} does not name {src}")


README_MAX_LINES = 500


def check_readme_size(root, errors):
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        n = sum(1 for _ in f)
    if n > README_MAX_LINES:
        errors.append(f"README.md: {n} lines, over {README_MAX_LINES}: move measurement logs and details to docs/")


def check_cmake(root, errors):
    text = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
    for lib in ("vit_io", "vit_text", "vit_image"):
        for args in re.findall(r"target_link_libraries\(\s*" + lib + r"\s([^)]*)\)", text):
            if re.search(r"TORCH|\btorch\b", args):
                errors.append(f"CMakeLists.txt: {lib} links LibTorch ({' '.join(args.split())}); only vit_model may")


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    errors, sources = [], []
    for top in ("src", "include"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".cpp", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                check_file(rel, open(os.path.join(root, rel), encoding="utf-8").read(), errors)
                if rel.startswith("src/") and f.endswith(".cpp"):
                    sources.append(rel)
                    header = "include/vit/" + rel[len("src/"):-len(".cpp")] + ".h"
                    if f != "main.cpp" and not os.path.exists(os.path.join(root, header)):
                        errors.append(f"{rel}: no public header {header}")
    check_layout_table(root, sorted(sources), errors)
    check_readme_size(root, errors)
    check_cmake(root, errors)
    for e in errors:
        print(e)
    print(f"check_tree: {len(sources)} source files, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

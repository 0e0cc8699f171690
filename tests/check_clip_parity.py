#!/usr/bin/python3
"""CLIP zero-shot parity: runs vit-classify on each open_clip fixture as a user would and checks
its probabilities against open_clip's (tests/reference/make_clip_fixtures.py writes both).

    /usr/bin/python3 tests/check_clip_parity.py VIT_BINARY FIXTURES_DIR SHARED_DIR [--only NAME ...]

Per model folder FIXTURES_DIR/clip/NAME (open_clip_config.json, open_clip_model.safetensors,
reference.json) it runs
    VIT_BINARY -m DIR --labels-file LABELS.txt [--template T ...] --tokenizer BPE --format json
               --digits 8 -k K PHOTOS...
(K: the number of labels), or for "tiny" no labels and no templates: ImageNet zero-shot with the
CLI's own 1000 class names and 80 templates, -k 5. A folder with the tokenizer's vocab.json and
merges.txt beside the weights (NAME_hf: Hugging Face's CLIPModel layout) is run without --tokenizer:
the CLI must find them there. Whichever folders hold a reference.json are checked (the sanitizer
builds write tiny_typed alone). VIT_CLASSIFY_CACHE names a fresh folder; the
same command is run again and must print the same bytes (the text embeddings then come from that
cache). Each JSON record ({"file", "ok", "predictions": [{"index", "label", "probability"}]}) must
match open_clip: every probability within 1e-4, the ranking the same (up to ties within 1e-4),
the labels those of the labels file. CTest's clip_parity. Exit 0: parity; 1: a difference (each
printed); 77: skipped (no fixtures, no open_clip vocabulary)."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

TOLERANCE = 1e-4
TIMEOUT_S = 600
SKIP = 77
IMAGENET = "tiny"  # the fixture for ImageNet zero-shot with the CLI's built-in names and templates


class Mismatch(Exception):
    pass


def command(binary, folder, ref, bpe, tmp):
    """The argv of one model's run, as a user types it."""
    photos = [p["path"] for p in ref["photos"]]
    argv = [binary, "-m", folder]
    tokenizer = [] if has_own_tokenizer(folder) else ["--tokenizer", bpe]
    if os.path.basename(folder) == IMAGENET:
        k = 5
    else:
        labels = os.path.join(tmp, "labels.txt")
        with open(labels, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(label + "\n" for label in ref["labels"]))
        argv += ["--labels-file", labels]
        for t in ref["templates"]:
            argv += ["--template", t]
        k = len(ref["labels"])
    return argv + tokenizer + ["--format", "json", "--digits", "8", "-k", str(k)] + photos


def has_own_tokenizer(folder):
    """Hugging Face's tokenizer files beside the weights, as a CLIPModel repository has them."""
    return all(os.path.isfile(os.path.join(folder, f)) for f in ("vocab.json", "merges.txt"))


def run(argv, env):
    """stdout bytes of a run that must succeed."""
    try:
        p = subprocess.run(argv, env=env, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Mismatch(f"no answer in {TIMEOUT_S} s: {' '.join(argv)}") from None
    if p.returncode != 0:
        raise Mismatch(f"exit status {p.returncode}; stderr:\n{p.stderr.decode(errors='replace')}")
    return p.stdout


def parse_records(stdout):
    """JSON Lines -> {file: record}; each file once."""
    records = {}
    for n, line in enumerate(stdout.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise Mismatch(f"record line {n} is not JSON ({e}): {line[:200]}") from None
        if not isinstance(r, dict) or not isinstance(r.get("file"), str):
            raise Mismatch(f"record line {n} has no \"file\": {line[:200]}")
        if r["file"] in records:
            raise Mismatch(f"two records for {r['file']}")
        records[r["file"]] = r
    return records


def compare_photo(rec, expected, labels, k, check_labels):
    """Problems of one record against open_clip's probabilities `expected` ([K] floats), and the
    largest |difference| seen. `labels`: open_clip's label per index."""
    problems, worst = [], 0.0
    if rec.get("ok") is not True:
        return [f"not classified: {rec.get('error', rec)}"], worst
    preds = rec.get("predictions")
    if not isinstance(preds, list) or len(preds) != k:
        return [f"expected {k} predictions, got {preds if not isinstance(preds, list) else len(preds)}"], worst
    ranked = sorted(range(len(expected)), key=lambda i: -expected[i])
    seen = set()
    for rank, p in enumerate(preds):
        index, prob = p.get("index"), p.get("probability")
        if not isinstance(index, int) or not 0 <= index < len(expected) or index in seen:
            problems.append(f"rank {rank}: index {index!r} out of range 0..{len(expected) - 1} or repeated")
            continue
        seen.add(index)
        if not isinstance(prob, (int, float)):
            problems.append(f"rank {rank}: probability {prob!r} is not a number")
            continue
        diff = abs(prob - expected[index])
        worst = max(worst, diff)
        if diff > TOLERANCE:
            problems.append(f"index {index} ({labels[index]!r}): probability {prob:.8f}, open_clip "
                            f"{expected[index]:.8f} (|diff| {diff:.2e} > {TOLERANCE})")
        want = ranked[rank]
        if index != want and abs(expected[index] - expected[want]) > TOLERANCE:
            problems.append(f"rank {rank}: index {index} ({labels[index]!r}), open_clip ranks index {want} "
                            f"({labels[want]!r}, {expected[want]:.8f}) there")
        if check_labels and p.get("label") != labels[index]:
            problems.append(f"index {index}: label {p.get('label')!r}, the labels file says {labels[index]!r}")
    return problems, worst


def compare(stdout, ref, imagenet):
    """Problems of one run's output against reference.json, and the largest |difference|."""
    records = parse_records(stdout)
    photos = [p["path"] for p in ref["photos"]]
    problems = [f"record for a file not asked for: {f}" for f in records if f not in photos]
    worst, k = 0.0, 5 if imagenet else len(ref["labels"])
    for photo in ref["photos"]:
        rec = records.get(photo["path"])
        if rec is None:
            problems.append(f"{photo['path']}: no record")
            continue
        found, diff = compare_photo(rec, photo["probs"], ref["labels"], k, not imagenet)
        problems += [f"{photo['path']}: {m}" for m in found]
        worst = max(worst, diff)
    return problems, worst


def check_model(binary, folder, bpe):
    """(max |diff|, problems) of one fixture folder: two runs sharing one fresh cache."""
    with open(os.path.join(folder, "reference.json"), encoding="utf-8") as f:
        ref = json.load(f)
    imagenet = os.path.basename(folder) == IMAGENET
    with tempfile.TemporaryDirectory(prefix="clip-parity-") as tmp:
        cache = os.path.join(tmp, "cache")
        os.mkdir(cache)
        env = dict(os.environ, VIT_CLASSIFY_CACHE=cache)
        argv = command(binary, folder, ref, bpe, tmp)
        print("$ VIT_CLASSIFY_CACHE=" + shlex.quote(cache) + " " + shlex.join(argv), flush=True)
        first = run(argv, env)
        problems, worst = compare(first, ref, imagenet)
        if not any(files for _, _, files in os.walk(cache)):
            problems.append(f"the first run wrote nothing under VIT_CLASSIFY_CACHE ({cache})")
        second = run(argv, env)
        if second != first:
            a, b = first.splitlines(), second.splitlines()
            n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            problems.append("the second run (text embeddings from the cache) printed other bytes than the first; "
                            f"line {n + 1}:\n  first:  {a[n] if n < len(a) else b'(none)'!r}\n"
                            f"  second: {b[n] if n < len(b) else b'(none)'!r}")
    return worst, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("fixtures_dir")
    ap.add_argument("shared_dir")
    ap.add_argument("--only", nargs="*", help="check these fixture folders only")
    args = ap.parse_args()
    root = os.path.join(args.fixtures_dir, "clip")
    bpe = os.path.join(os.path.abspath(args.shared_dir), "reference", "open_clip", "bpe_simple_vocab_16e6.txt.gz")
    names = sorted(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, "reference.json"))) \
        if os.path.isdir(root) else []
    if args.only:
        names = [n for n in names if n in args.only]
    if not os.path.isfile(bpe):  # those with their own vocab.json and merges.txt are still checked
        for n in [n for n in names if not has_own_tokenizer(os.path.join(root, n))]:
            print(f"clip_parity: {n}: skipped: no {bpe} for --tokenizer")
            names.remove(n)
    if not names:
        print(f"clip_parity: skipped: no CLIP fixtures under {root} "
              "(tests/reference/make_clip_fixtures.py writes them where ../shared has open_clip)")
        return SKIP
    rows, failed = [], False
    for name in names:
        try:
            worst, problems = check_model(args.binary, os.path.join(root, name), bpe)
        except Mismatch as e:
            worst, problems = float("nan"), [str(e)]
        failed |= bool(problems)
        for p in problems:
            print(f"clip_parity: {name}: {p}")
        rows.append((name, worst, "ok" if not problems else f"FAILED ({len(problems)} problems)"))
    print(f"\n{'model':<20} {'max |diff|':>12}  result (tolerance {TOLERANCE})")
    for name, worst, result in rows:
        print(f"{name:<20} {worst:>12.2e}  {result}" if worst == worst else f"{name:<20} {'-':>12}  {result}")
    if failed:
        print(f"clip_parity: {sum(r[2] != 'ok' for r in rows)} of {len(rows)} models do not match open_clip "
              "(every problem above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

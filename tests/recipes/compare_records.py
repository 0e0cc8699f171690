#!/usr/bin/python3
"""Checks that the parts of a `--shard K/N` run (and their merge) hold exactly the records of
one plain run: the README's scale-out recipes (GNU parallel, Slurm) are tested with it.

    /usr/bin/python3 tests/recipes/compare_records.py ONE.jsonl PART_1 ... PART_N [--merged FILE]
    /usr/bin/python3 tests/recipes/compare_records.py ONE.jsonl --parts-in DIR --shards N [--merged FILE]

PART_K must be the part written with `--shard K/N`, in K order; with --parts-in, DIR must hold
exactly the files part-K.jsonl (or part-0K.jsonl...) for K = 1..N. Exit 0 when they agree, 1
with one line per difference otherwise. Used as a module by check_parallel_recipe.py."""
import argparse
import glob
import json
import os
import re
import sys

# Probabilities may differ in their last printed digit between a sharded and a plain run: the
# records are the same inputs through the same model, but a shard's batches hold other images
# (and fewer of them), and LibTorch's batched matrix products round differently for another
# batch size. Measured here: batch size 1 vs 8 moved 4 of 50 probabilities by 1e-6.
# With --deterministic they are the same bytes (tests/test_batch_invariance.cpp checks that);
# README's recipe runs without it, as most users will.
PROBABILITY_TOLERANCE = 1e-5


def load_records(path):
    """The JSON records of one file, in file order; a line that is not a JSON object is an error."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                raise ValueError(f"{path}:{number}: blank line in a JSON-lines output")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{number}: not JSON ({e}): {line[:120]!r}") from None
            if not isinstance(record, dict) or "file" not in record or "ok" not in record:
                raise ValueError(f"{path}:{number}: not a vit-classify record: {line[:120]!r}")
            records.append(record)
    return records


def find_parts(folder, pattern, n):
    """The part files in folder matching the glob pattern, ordered by the shard number in their
    names (part-3.jsonl, part-03.jsonl); problems if they are not exactly shards 1..n."""
    names = glob.glob(pattern, root_dir=folder)
    numbered = {}
    problems = []
    for name in names:
        m = re.search(r"(\d+)\D*$", name)
        if not m:
            problems.append(f"{name}: no shard number in the name")
            continue
        numbered.setdefault(int(m.group(1)), []).append(name)
    for k in sorted(numbered):
        if not 1 <= k <= n or len(numbered[k]) > 1:
            problems.append(f"unexpected part file(s) for shard {k} of {n}: {', '.join(sorted(numbered[k]))}")
    missing = [k for k in range(1, n + 1) if k not in numbered]
    if missing:
        problems.append(f"no part file for shard(s) {missing} of {n} in {folder} (found {sorted(names)})")
    parts = [os.path.join(folder, numbered[k][0]) for k in range(1, n + 1) if k in numbered]
    return parts, problems


def _differences(where, a, b, stats):
    """Field-by-field differences between records a (plain run) and b (a part); probabilities
    compared within PROBABILITY_TOLERANCE, everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: fields {sorted(a)} in the plain run, {sorted(b)} in the part"]
        out = []
        for key in a:
            if key == "probability" and isinstance(a[key], (int, float)) and isinstance(b[key], (int, float)):
                diff = abs(a[key] - b[key])
                stats["probabilities"] += 1
                if diff != 0:
                    stats["unequal"] += 1
                    stats["max_diff"] = max(stats["max_diff"], diff)
                if diff > PROBABILITY_TOLERANCE:
                    out.append(f"{where}.probability: {a[key]} in the plain run, {b[key]} in the part "
                               f"(differ by {diff:.2g} > {PROBABILITY_TOLERANCE})")
            else:
                out.extend(_differences(f"{where}.{key}", a[key], b[key], stats))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} entries in the plain run, {len(b)} in the part"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(_differences(f"{where}[{i}]", x, y, stats))
        return out
    return [] if a == b else [f"{where}: {a!r} in the plain run, {b!r} in the part"]


def compare(one, parts, merged=None, n=None):
    """Problems (a list of strings; empty when they agree) between the plain run's records `one`
    and `parts`, a list of (name, records) for shards 1..N in order, and the concatenation
    `merged` of the parts if given. Also returns statistics on the probabilities compared.
    With n given and parts missing (reported by find_parts), which shard is which is unknown:
    the shards' contents are then not checked one by one, only as a whole."""
    problems = []
    stats = {"probabilities": 0, "unequal": 0, "max_diff": 0.0}
    n = n or len(parts)
    files = [r["file"] for r in one]
    if len(set(files)) != len(files):
        problems.append("the plain run has the same file twice: "
                        + ", ".join(sorted({f for f in files if files.count(f) > 1})))
    by_file = {r["file"]: r for r in one}

    seen = {}  # file -> names of the parts that hold it
    for k, (name, records) in enumerate(parts, 1):
        # --shard K/N takes inputs number K-1, K-1+N, ... of the plain run's order.
        expected = files[k - 1::n]
        got = [r["file"] for r in records]
        if len(parts) == n and got != expected:
            problems.append(f"{name} (shard {k}/{n}) holds {got}, expected inputs {k - 1}, {k - 1}+{n}, ... "
                            f"of the plain run: {expected}")
        for r in records:
            seen.setdefault(r["file"], []).append(name)
            if r["file"] in by_file:
                problems.extend(_differences(f"{name}: {r['file']}", by_file[r["file"]], r, stats))
    for f, names in sorted(seen.items()):
        if len(names) > 1:
            problems.append(f"{f} is in {len(names)} parts: {', '.join(names)}")
        if f not in by_file:
            problems.append(f"{f} is in {names[0]} but not in the plain run")
    for f in files:
        if f not in seen:
            problems.append(f"{f} is in the plain run but in no part")

    if merged is not None:
        name, records = merged
        concatenated = [r for _, rs in parts for r in rs]
        if records != concatenated:
            problems.append(f"{name} ({len(records)} records) is not the parts concatenated in order "
                            f"({len(concatenated)} records)")
    return problems, stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("one", help="records of one plain run (--format json)")
    parser.add_argument("parts", nargs="*", help="the part written with --shard K/N, for K = 1..N in order")
    parser.add_argument("--parts-in", metavar="DIR", help="take the parts from DIR (needs --shards)")
    parser.add_argument("--pattern", default="part-*.jsonl", help="their names in DIR (default part-*.jsonl)")
    parser.add_argument("--shards", type=int, metavar="N", help="the N of --shard K/N")
    parser.add_argument("--merged", help="the parts concatenated (the recipe's merge step)")
    args = parser.parse_args()
    if bool(args.parts) == bool(args.parts_in) or bool(args.parts_in) != bool(args.shards):
        parser.error("give either the part files or --parts-in DIR with --shards N")
    problems = []
    try:
        one = load_records(args.one)
        paths = args.parts
        if args.parts_in:
            paths, problems = find_parts(args.parts_in, args.pattern, args.shards)
        parts = [(p, load_records(p)) for p in paths]
        merged = (args.merged, load_records(args.merged)) if args.merged else None
    except (OSError, ValueError) as e:
        print(f"compare_records: {e}", file=sys.stderr)
        return 1
    more, stats = compare(one, parts, merged, args.shards)
    problems += more
    for p in problems:
        print(f"compare_records: {p}", file=sys.stderr)
    print(summary(one, parts, stats, problems))
    return 1 if problems else 0


def summary(one, parts, stats, problems):
    errors = sum(1 for r in one if not r["ok"])
    verdict = "MISMATCH" if problems else "same records"
    return (f"{verdict}: {len(one)} records in the plain run ({errors} error records), "
            f"{sum(len(r) for _, r in parts)} in {len(parts)} parts "
            f"({', '.join(f'{len(r)}' for _, r in parts)}); {stats['probabilities']} probabilities compared, "
            f"{stats['unequal']} not bit-identical (largest difference {stats['max_diff']:.2g}, "
            f"tolerance {PROBABILITY_TOLERANCE})")


if __name__ == "__main__":
    sys.exit(main())

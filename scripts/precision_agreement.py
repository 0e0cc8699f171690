#!/usr/bin/python3
"""How often a reduced-precision run (bf16, int8...) agrees with the fp32 run on the same inputs,
from the JSON Lines records vit-classify writes:

    vit-classify -m MODEL -r --format json -k 5 -o fp32.jsonl DIR
    vit-classify -m MODEL -r --format json -k 5 --precision int8 -o int8.jsonl DIR
    /usr/bin/python3 scripts/precision_agreement.py fp32.jsonl int8.jsonl --name int8 [--json]

Records are matched by input path ("file", or "file_hex" when the name is not UTF-8). Prints the
number of inputs compared, how many have the same top-1 class (and the percentage), the mean and
largest |difference| between the probability fp32 gives its top-1 class and the one the other
run gives that class (when the class is not in the other run's top-k, the other run's own top-1
probability stands in, and such inputs are counted), then every disagreement. --json prints the
same as one JSON object. Exit 0; 1 if a record is missing from either side or is an error record
(the rest is still compared), or if nothing could be compared; 2 if a file cannot be read or a
line is not a record.
Standard library only (inputs for it: scripts/make_agreement_inputs.py)."""
import argparse
import json
import sys


class BadInput(Exception):
    """A records file that cannot be read, or a line in it that is not a record."""


def record_key(record):
    """The input path a record is about: "hex:" + file_hex (the exact bytes of a name that is
    not UTF-8, as the CSV records write it) when present, else file."""
    return "hex:" + record["file_hex"] if "file_hex" in record else record["file"]


def read_records(path):
    """{input path: record} from one JSON Lines file; blank lines are skipped, a repeated path
    keeps its last record (as a resumed run may write it twice)."""
    records = {}
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    key = record_key(record)
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise BadInput(f"{path}:{number}: not a vit-classify JSON record ({e})") from e
                if key in records:
                    print(f"precision_agreement: {path}: {key} appears more than once; the last record counts",
                          file=sys.stderr)
                records[key] = record
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read {path}: {e}") from e
    return records


def problem(record):
    """Why a record cannot be compared (an error record, no predictions), or None."""
    if not record.get("ok", False):
        return record.get("error", "failed, no error given")
    predictions = record.get("predictions")
    if not predictions:
        return "no predictions"
    if not all(isinstance(p, dict) and "index" in p and "probability" in p for p in predictions):
        return "a prediction without index or probability"
    return None


def compare_one(ref, other):
    """(same top-1?, |probability difference| for ref's top-1 class, whether that class was
    outside other's top-k) for two usable records of one input."""
    top = ref["predictions"][0]
    other_top = other["predictions"][0]
    same_class = [p for p in other["predictions"] if p["index"] == top["index"]]
    outside = not same_class
    other_p = other_top["probability"] if outside else same_class[0]["probability"]
    return top["index"] == other_top["index"], abs(other_p - top["probability"]), outside


def top1(record):
    """{index, label, probability} of a record's first prediction."""
    p = record["predictions"][0]
    return {"index": p["index"], "label": p.get("label", ""), "probability": p["probability"]}


def compare(refs, others):
    """The summary (a dict, the same as --json prints) of two runs' records."""
    missing_in_other = sorted(k for k in refs if k not in others)
    missing_in_ref = sorted(k for k in others if k not in refs)
    errors, diffs, disagreements, outside = [], [], [], 0
    for key in sorted(k for k in refs if k in others):
        why = [(side, problem(r)) for side, r in (("ref", refs[key]), ("other", others[key]))]
        why = [{"file": key, "side": side, "error": e} for side, e in why if e]
        if why:
            errors += why
            continue
        same, diff, out = compare_one(refs[key], others[key])
        diffs.append(diff)
        outside += out
        if not same:
            disagreements.append({"file": key, "ref": top1(refs[key]), "other": top1(others[key])})
    n = len(diffs)
    same = n - len(disagreements)
    return {
        "compared": n, "same_top1": same, "same_top1_percent": round(100.0 * same / n, 4) if n else None,
        "top1_prob_diff_mean": round(sum(diffs) / n, 6) if n else None,
        "top1_prob_diff_max": round(max(diffs), 6) if n else None,
        "ref_top1_outside_other_topk": outside, "disagreements": disagreements,
        "missing_in_ref": missing_in_ref, "missing_in_other": missing_in_other, "errors": errors,
    }


def describe(p):
    """'285 Egyptian cat (0.812782)'."""
    return f"{p['index']} {p['label']} ({p['probability']:.6f})"


def print_text(s, ref_name, name):
    """The summary as lines for a reader: results on stdout, problems on stderr."""
    if s["compared"]:
        print(f"compared: {s['compared']} inputs, {ref_name} against {name}")
        print(f"same top-1: {s['same_top1']} / {s['compared']} ({s['same_top1_percent']:.2f}%)")
        print(f"top-1 probability |difference|: mean {s['top1_prob_diff_mean']:.6f}, "
              f"max {s['top1_prob_diff_max']:.6f}")
        print(f"{ref_name}'s top-1 outside {name}'s top-k (its top-1 probability used): "
              f"{s['ref_top1_outside_other_topk']}")
    else:
        print(f"compared: 0 inputs, {ref_name} against {name}")
    print(f"disagreements: {len(s['disagreements'])}")
    if s["disagreements"]:
        print(f"file\t{ref_name} top-1\t{name} top-1")
    for d in s["disagreements"]:
        print(f"{d['file']}\t{describe(d['ref'])}\t{describe(d['other'])}")
    names = {"ref": ref_name, "other": name}
    for key in s["missing_in_other"]:
        print(f"precision_agreement: {key}: no record in the {name} run", file=sys.stderr)
    for key in s["missing_in_ref"]:
        print(f"precision_agreement: {key}: no record in the {ref_name} run", file=sys.stderr)
    for e in s["errors"]:
        print(f"precision_agreement: {e['file']}: {names[e['side']]} record: {e['error']}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref", help="records of the fp32 (reference) run")
    ap.add_argument("other", help="records of the reduced-precision run")
    ap.add_argument("--name", default="other", help="what to call the other run (bf16, int8...)")
    ap.add_argument("--ref-name", default="fp32", help="what to call the reference run")
    ap.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = ap.parse_args()
    try:
        summary = compare(read_records(args.ref), read_records(args.other))
    except BadInput as e:
        print(f"precision_agreement: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ref_name": args.ref_name, "name": args.name, **summary}, ensure_ascii=False))
    else:
        print_text(summary, args.ref_name, args.name)
    if not summary["compared"]:
        print("precision_agreement: no input could be compared", file=sys.stderr)
    incomplete = summary["missing_in_ref"] or summary["missing_in_other"] or summary["errors"]
    return 1 if incomplete or not summary["compared"] else 0


if __name__ == "__main__":
    sys.exit(main())

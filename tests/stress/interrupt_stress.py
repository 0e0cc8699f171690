#!/usr/bin/python3
"""Ctrl-C at random moments, many times: every interrupted run of a folder must exit 130 (0 or 1
if it finished first) with whole records and no sanitizer report, and `--resume` must complete
the job to exactly the records of one uninterrupted run.

    /usr/bin/python3 tests/stress/interrupt_stress.py BINARY MODEL [--runs N] [--seed S]
                     [--shared DIR] [--keep]

The folder: scikit-image's photos, MATE's large backgrounds (python3-skimage, mate-backgrounds),
the shared labelled ImageNet photos where ../shared is there, and two files that are not images.
Each run classifies it with --resume into one records file (default workers: one per core,
decoding and the forward pass side by side) and gets SIGINT at a random moment of a plain run's
duration; once a run finishes, its file is compared with the plain run's and a new file begins.
Exit 0: every run as above; 1: a line for each problem. Run by CTest (`interrupt_stress`) and,
with 100 runs under ASan and under TSan, by .ci/run."""
import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "recipes"))
from compare_records import PROBABILITY_TOLERANCE  # noqa: E402

SANITIZER_REPORT = re.compile(r"ERROR: AddressSanitizer|WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|"
                              r"runtime error:|ERROR: LeakSanitizer|corrupted|double free|free\(\): ")
HANG_SECONDS = 300  # a run that outlives this after its signal is a hang


def make_folder(root, shared):
    """A folder of photos (links to the originals) and two bad files; returns its path."""
    folder = os.path.join(root, "photos")
    os.makedirs(os.path.join(folder, "big"))
    sources = sorted(glob.glob("/usr/lib/python3/dist-packages/skimage/data/*.png"))[:14]
    sources += sorted(glob.glob("/usr/share/backgrounds/mate/nature/*.jpg"))[:6]
    sources += sorted(glob.glob(os.path.join(shared, "images", "imagenet", "*.png")))[:10]
    if len(sources) < 12:
        raise SystemExit("interrupt_stress: too few photos (apt-get install python3-skimage mate-backgrounds)")
    for i, src in enumerate(sources):
        sub = "big" if os.path.getsize(src) > 1 << 20 else ""
        os.symlink(src, os.path.join(folder, sub, f"{i:02d}_{os.path.basename(src)}"))
    with open(os.path.join(folder, "not_an_image.jpg"), "w") as f:
        f.write("this is text\n")
    with open(sources[0], "rb") as f:
        head = f.read(300)
    with open(os.path.join(folder, "cut.png"), "wb") as f:
        f.write(head)
    return folder


def records(path):
    """The file's records by input, and problems: a torn last line, a line that is no record."""
    problems = []
    if not os.path.exists(path):
        return {}, problems
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        problems.append(f"{path}: the last line is torn: {data[-80:]!r}")
    out = {}
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            r = json.loads(line)
        except ValueError:
            problems.append(f"{path}:{n}: not JSON: {line[:80]!r}")
            continue
        if r.get("file") in out:
            problems.append(f"{path}:{n}: '{r.get('file')}' recorded twice")
        out[r.get("file")] = r
    return out, problems


def differences(reference, got):
    """How `got` (records by file) differs from the plain run's."""
    problems = []
    if set(got) != set(reference):
        problems.append(f"inputs differ: missing {sorted(set(reference) - set(got))[:5]}, "
                        f"extra {sorted(set(got) - set(reference))[:5]}")
    for name in sorted(set(got) & set(reference)):
        a, b = reference[name], got[name]
        if a["ok"] != b["ok"]:
            problems.append(f"{name}: ok {a['ok']} in the plain run, {b['ok']} here")
            continue
        for pa, pb in zip(a.get("predictions", []), b.get("predictions", [])):
            if pa["index"] != pb["index"] or abs(pa["probability"] - pb["probability"]) > PROBABILITY_TOLERANCE:
                problems.append(f"{name}: {pa} in the plain run, {pb} here")
                break
    return problems


def run_once(cmd, env, delay, log):
    """Starts cmd, sends SIGINT after delay seconds (unless it ended), returns (status, stderr)."""
    with open(log, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            p.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=HANG_SECONDS)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return "hang", open(log, errors="replace").read()
    return p.returncode, open(log, errors="replace").read()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("model")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("VIT_STRESS_RUNS", "20")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    root = tempfile.mkdtemp(prefix="vit-interrupt-stress-")
    env = dict(os.environ)
    problems = []
    try:
        folder = make_folder(root, args.shared)
        base = [args.binary, "-q", "-m", args.model, "-r", folder, "--format", "json", "--no-progress"]
        reference_file = os.path.join(root, "plain.jsonl")
        start = time.monotonic()
        status, err = run_once(base + ["-o", reference_file], env, HANG_SECONDS, os.path.join(root, "plain.log"))
        plain_seconds = time.monotonic() - start
        if status not in (0, 1) or SANITIZER_REPORT.search(err):
            raise SystemExit(f"interrupt_stress: the plain run exited {status}:\n{err[-3000:]}")
        reference, bad = records(reference_file)
        problems += bad
        print(f"interrupt_stress: seed {seed}; {len(reference)} inputs; plain run {plain_seconds:.1f} s; "
              f"{args.runs} interrupted runs", flush=True)

        exits, written, cycles = {}, 0, 0
        out = os.path.join(root, "out.jsonl")
        for i in range(1, args.runs + 1):
            cmd = base + ["-o", out] + (["--resume"] if os.path.exists(out) else [])
            before, _ = records(out)
            delay = rng.uniform(0.05, 1.0) * plain_seconds
            status, err = run_once(cmd, env, delay, os.path.join(root, f"run{i}.log"))
            key = "signal SIGINT" if status == -signal.SIGINT else str(status)
            exits[key] = exits.get(key, 0) + 1
            after, bad = records(out)
            problems += [f"run {i}: {b}" for b in bad]
            written += len(after) - len(before)
            where = f"run {i} (SIGINT after {delay:.2f} s, exit {status})"
            if SANITIZER_REPORT.search(err):
                problems.append(f"{where}: a sanitizer or heap report:\n{err[-4000:]}")
            # 130: interrupted while the job ran; 0 or 1: it finished first. SIGINT's own death
            # (the shell's 130 too) where no handler is set: while the model loads, before any
            # record, or after the last record was written and the handler put back. Either way
            # the file's records are whole (checked above) and --resume goes on from them.
            if status not in (0, 1, 130, -signal.SIGINT):
                problems.append(f"{where}: unexpected exit:\n{err[-2000:]}")
            if status == 130 and "--resume" not in err and "interrupted" not in err and "-q" not in cmd:
                problems.append(f"{where}: no word on how to finish")
            if status in (0, 1):  # finished: the same records as one plain run
                problems += [f"{where}: {d}" for d in differences(reference, after)]
                cycles += 1
                os.remove(out)
            if len(problems) > 20:
                break
        # The last file, finished by --resume without a signal.
        if os.path.exists(out):
            status, err = run_once(base + ["-o", out, "--resume"], env, HANG_SECONDS, os.path.join(root, "last.log"))
            after, bad = records(out)
            problems += bad + [f"the final --resume: {d}" for d in differences(reference, after)]
            if status not in (0, 1) or SANITIZER_REPORT.search(err):
                problems.append(f"the final --resume exited {status}:\n{err[-2000:]}")
            cycles += 1
        print(f"interrupt_stress: exits {dict(sorted(exits.items()))}; {written} records written by interrupted "
              f"runs; {cycles} jobs completed by --resume and equal to the plain run", flush=True)
    finally:
        if args.keep:
            print(f"interrupt_stress: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

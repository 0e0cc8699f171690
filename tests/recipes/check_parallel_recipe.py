#!/usr/bin/python3
"""Runs README.md's GNU parallel recipe (the `parallel ... --shard {}/4 ...` line and its
`cat part-*.jsonl > labels.jsonl` merge, taken from the README itself) over a folder of real
photos with one bad file, and checks that the parts and the merge hold exactly the records of
one plain `vit-classify -r` run, each input once, with the exit statuses the README promises.

    /usr/bin/python3 tests/recipes/check_parallel_recipe.py BINARY SOURCE_DIR [FIXTURES_DIR]
        [--readme FILE] [--keep]

CTest's parallel_recipe. Exit 0: the recipe works; 1: it does not (every difference printed);
77: skipped (no GNU parallel, no model or no photos on this machine)."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_records  # noqa: E402
from recipe_inputs import SKIP, RecipeError, Skip, fill_folder, find_model, readme_block, substitute  # noqa: E402

TIMEOUT_S = 300


def recipe_lines(readme):
    """README's parallel line and merge line, and the N of its --shard {}/N."""
    block = readme_block(readme, "parallel ")
    parallel = [line for line in block if line.startswith("parallel ")]
    merge = [line for line in block if line.startswith("cat part-")]
    if len(parallel) != 1 or len(merge) != 1:
        raise RecipeError(f"{readme}: the parallel block should hold one 'parallel ...' line and one "
                          f"'cat part-...' merge line; it holds: {block}")
    m = re.search(r"--shard\s+\{\}/(\d+)", parallel[0])
    if not m:
        raise RecipeError(f"{readme}: no '--shard {{}}/N' in the parallel line: {parallel[0]}")
    return parallel[0], merge[0], int(m.group(1))


def run(what, command, cwd, env, shell=False):
    """Runs command; prints it with its exit status and output; returns the exit status."""
    shown = command if shell else " ".join(command)
    print(f"$ {shown}    (in {cwd})", flush=True)
    argv = ["bash", "-c", command] if shell else command
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RecipeError(f"{what} did not finish in {TIMEOUT_S} s: {shown}") from None
    for stream in (p.stdout, p.stderr):
        for line in stream.splitlines():
            print(f"    {line}")
    print(f"    -> exit status {p.returncode}", flush=True)
    return p.returncode


def check(args, tmp):
    if shutil.which("parallel") is None:
        raise Skip("GNU parallel is not installed (Debian: apt-get install parallel)")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise RecipeError(f"{binary}: the vit-classify binary is missing or not executable")
    model = find_model(args.source_dir, args.fixtures_dir)
    readme = args.readme or os.path.join(args.source_dir, "README.md")
    parallel_line, merge_line, n = recipe_lines(readme)
    print(f"README's recipe ({readme}):\n    {parallel_line}\n    {merge_line}")

    data = os.path.join(tmp, "data")
    names = fill_folder(data)
    print(f"{len(names)} inputs in {data}: {', '.join(sorted(names))}")
    work, plain, home, bindir = (os.path.join(tmp, d) for d in ("work", "plain", "home", "bin"))
    for d in (work, plain, home, bindir):
        os.makedirs(d)

    # `vit-classify` in the line is the binary under test: its folder goes first on PATH (a
    # link when CMake named it otherwise). HOME is ours, so parallel's ~/.parallel is too.
    if os.path.basename(binary) == "vit-classify":
        bindir = os.path.dirname(binary)
    else:
        os.symlink(binary, os.path.join(bindir, "vit-classify"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"), HOME=home)
    found = shutil.which("vit-classify", path=env["PATH"])
    if not found or os.path.realpath(found) != os.path.realpath(binary):
        raise RecipeError(f"vit-classify on PATH is {found}, not {binary}")

    line = substitute(parallel_line, "model.safetensors", model, "the model")
    line = substitute(line, "/data", data, "the folder")
    parallel_status = run("the parallel line", line, work, env, shell=True)
    merge_status = run("the merge line", merge_line, work, env, shell=True)
    plain_status = run("the plain run", [binary, "-m", model, "-r", data, "--format", "json",
                                         "-o", os.path.join(plain, "one.jsonl")], plain, env)

    problems = []
    one = compare_records.load_records(os.path.join(plain, "one.jsonl"))
    part_paths, part_problems = compare_records.find_parts(work, "part-*.jsonl", n)
    problems += part_problems
    parts = [(os.path.basename(p), compare_records.load_records(p)) for p in part_paths]
    merged = os.path.join(work, "labels.jsonl")
    if os.path.exists(merged):
        merged = ("labels.jsonl", compare_records.load_records(merged))
    else:
        problems.append("the merge line wrote no labels.jsonl")
        merged = None
    if len(one) != len(names):
        problems.append(f"the plain run wrote {len(one)} records for {len(names)} inputs")
    more, stats = compare_records.compare(one, parts, merged, n)
    problems += more

    # GNU parallel exits with the number of jobs that failed: one shard holds the bad file, and
    # its vit-classify exits 1 ("some inputs failed"); the plain run exits 1 for the same reason.
    failed_parts = sum(1 for _, records in parts if any(not r["ok"] for r in records))
    if plain_status != 1:
        problems.append(f"the plain run exited {plain_status}, expected 1 (one input is not an image)")
    if parallel_status != 1 or failed_parts != 1:
        problems.append(f"parallel exited {parallel_status} with {failed_parts} part(s) holding error records; "
                        "expected 1 and 1 (parallel counts the jobs that failed; only the bad file's shard fails)")
    if merge_status != 0:
        problems.append(f"the merge line exited {merge_status}")

    print(compare_records.summary(one, parts, stats, problems))
    if stats["unequal"]:
        print(f"note: {stats['unequal']} probabilities differ in the last digit between a shard and the plain run "
              "(a shard batches other images together); compared within the tolerance")
    for p in problems:
        print(f"FAIL: {p}")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", help="the built vit-classify")
    parser.add_argument("source_dir", help="the source tree (README.md, models/)")
    parser.add_argument("fixtures_dir", nargs="?", help="build/tests/fixtures: its small model if no real one")
    parser.add_argument("--readme", help="run the recipe from this file instead of SOURCE_DIR/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and say where")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="vit-parallel-recipe-")
    try:
        return check(args, tmp)
    except Skip as e:
        if os.environ.get("VIT_STRICT_SKIPS") == "1":  # CI: a skip is not a pass
            print(f"FAIL (VIT_STRICT_SKIPS=1): would skip: {e}")
            return 1
        print(f"SKIPPED: {e}")
        return SKIP
    except (RecipeError, ValueError, OSError) as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""CLIP zero-shot speed: vit-classify against open_clip in PyTorch on the same weights, in one run.

    scripts/bench_clip.py MODEL_DIR [--binary build/vit-classify] [--threads 2] [--imagenet]
        [--tokenizer ../shared/reference/open_clip/bpe_simple_vocab_16e6.txt.gz] [--timeout 600]

MODEL_DIR holds open_clip_config.json and open_clip_model.safetensors (tests/reference/
make_clip_fixtures.py writes such folders). Three measurements, each system's bounded by --timeout
(a line says what was skipped and why):

  image tower   `vit-classify bench --format json` at --batch-sizes (fp32, and bf16/int8 unless
                --precisions says otherwise) against open_clip's encode_image + normalise + the
                classifier product under torch.inference_mode, same random inputs' shape, same
                threads: p50 ms per batch and images/s (batches / their summed time)
  text tower    the zero-shot classifier for --labels x --templates prompts (--imagenet: ImageNet's
                1000 x 80): vit-classify's "text tower X s" (-v log, cache empty) against
                open_clip's build_zero_shot_classifier on the same prompts
  cold start    one photo, whole process, label vectors cached: vit-classify against a Python
                script that loads the model with open_clip and the saved classifier (best of --repeats)

Ratios are vit-classify's speed over open_clip's (above 1: vit-classify is faster). Prints the CPU
and load first, then a Markdown table on stdout; progress on stderr. Needs ../shared/reference
(open_clip 2.26.1, see its README) and /usr/bin/python3's torch. Not a test: nothing here fails
on a slow result.
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))

# The first three of OpenAI's 80 ImageNet templates (open_clip.zero_shot_metadata).
DEFAULT_TEMPLATES = ["a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}."]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    """Raises Timeout in this process after `seconds` (between PyTorch calls, not inside one)."""
    def expire(signum, frame):
        raise Timeout(f"over {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cpu_summary():
    """(model name, the SIMD flags that decide the kernels, logical CPUs)."""
    name, flags = "unknown", set()
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name == "unknown":
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    wanted = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"]
    return name, {w: w in flags for w in wanted}, os.cpu_count()


def import_open_clip(shared):
    sys.path.insert(0, os.path.join(shared, "reference"))
    import open_clip
    return open_clip


def load_open_clip(open_clip, folder, weights_bin):
    """open_clip's model and preprocess for `folder` through its hf-hub path, as
    make_clip_fixtures.py's reference loads it: open_clip 2.26.1 reads open_clip_pytorch_model.bin
    from the hub, `weights_bin` (the safetensors' tensors, torch.save'd, as a hub cache holds them)."""
    files = {"open_clip_config.json": os.path.join(folder, "open_clip_config.json"),
             "open_clip_pytorch_model.bin": weights_bin}

    def download(model_id, filename="open_clip_pytorch_model.bin", revision=None, cache_dir=None):
        return files[filename]

    open_clip.factory.download_pretrained_from_hf = download
    model, _, preprocess = open_clip.create_model_and_transforms("hf-hub:local/clip-bench")
    tokenizer = open_clip.get_tokenizer("hf-hub:local/clip-bench")
    return model.eval(), preprocess, tokenizer


def cold_start_child(args):
    """The Python side of the cold start: what a user's script does for one photo with the label
    vectors saved: load open_clip's model, the classifier, the photo; print the top label."""
    import torch
    import torch.nn.functional as F
    from PIL import Image
    torch.set_num_threads(args.threads)
    open_clip = import_open_clip(args.shared)
    model, preprocess, _ = load_open_clip(open_clip, args.model, args.child_bin)
    saved = torch.load(args.child_classifier)
    with torch.inference_mode():
        x = preprocess(Image.open(args.photo)).unsqueeze(0)  # [1, 3, S, S]
        feats = F.normalize(model.encode_image(x), dim=-1)  # [1, E]
        probs = (model.logit_scale.exp() * feats @ saved["classifier"]).softmax(-1)[0]  # [K]
        top = probs.topk(min(5, probs.numel()))
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{p:.4f}\t{saved['labels'][i]}")


def run_timed(cmd, timeout, env=None):
    """(seconds, CompletedProcess) of one process, or raises Timeout / RuntimeError."""
    start = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Timeout(f"over {timeout} s") from None
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return seconds, r


def python_image_tower(torch, model, classifier, image_size, batch, threads, warmup, seconds):
    """open_clip's forward per batch as a user writes it: (p50 ms, images/s, iterations)."""
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, image_size, image_size, generator=g).repeat(batch, 1, 1, 1)  # [n, 3, S, S]
    scale = model.logit_scale.exp().item()

    def forward():
        feats = F.normalize(model.encode_image(x), dim=-1)  # [n, E]
        return (scale * feats @ classifier).softmax(-1)  # [n, K]

    ms = []
    with torch.inference_mode():
        for _ in range(warmup):
            forward()
        start = time.perf_counter()
        while len(ms) < 5 or time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            forward()
            ms.append(1000 * (time.perf_counter() - t0))
    return statistics.median_low(sorted(ms)), 1000 * batch * len(ms) / sum(ms), len(ms)


def vit_common(args, labels_file, templates):
    """vit-classify's model options; a photo goes after "--" (--template takes every word up to the next option)."""
    cmd = ["-m", args.model, "--threads", str(args.threads), "--tokenizer", args.tokenizer]
    if labels_file:
        cmd += ["--labels-file", labels_file]
    for t in templates or []:
        cmd += ["--template", t]
    return cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="folder with open_clip_config.json and open_clip_model.safetensors")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "vit-classify"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--tokenizer", help="CLIP's BPE vocabulary (default: open_clip's, under --shared)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--precisions", default="fp32,bf16,int8", help="vit-classify's; open_clip runs fp32")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed per batch size, each system")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--labels", type=int, default=100, help="the first N of ImageNet's class names")
    ap.add_argument("--templates", type=int, default=3, help="the first T of OpenAI's templates")
    ap.add_argument("--imagenet", action="store_true", help="ImageNet's 1000 labels x 80 templates")
    ap.add_argument("--photo", help="for the cold start (default: the first of --shared's ImageNet photos)")
    ap.add_argument("--repeats", type=int, default=3, help="cold starts per system (best taken)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per measurement and system")
    ap.add_argument("--child-bin", help=argparse.SUPPRESS)
    ap.add_argument("--child-classifier", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.model = os.path.abspath(args.model)
    args.tokenizer = args.tokenizer or os.path.join(args.shared, "reference", "open_clip",
                                                    "bpe_simple_vocab_16e6.txt.gz")
    if not args.photo:
        folder = os.path.join(args.shared, "images", "imagenet")
        args.photo = os.path.join(folder, sorted(f for f in os.listdir(folder) if f.endswith(".png"))[0])
    if args.child_bin:
        return cold_start_child(args)
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"bench_clip.py: no vit-classify at '{args.binary}' (build it, or pass --binary)")

    import torch
    import vitref
    torch.set_num_threads(args.threads)
    open_clip = import_open_clip(args.shared)
    name, flags, cpus = cpu_summary()
    print(f"CPU: {name}, {cpus} logical CPUs; "
          + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items()))
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min); {args.threads} threads each; "
          f"PyTorch {torch.__version__}, open_clip {open_clip.__version__}")
    skipped, rows = [], []

    tmp = tempfile.mkdtemp(prefix="bench_clip.")
    try:
        cache = os.path.join(tmp, "cache")
        os.makedirs(cache)
        env = dict(os.environ, VIT_CLASSIFY_CACHE=cache)
        weights_bin = os.path.join(tmp, "open_clip_pytorch_model.bin")
        torch.save(vitref.load_safetensors(os.path.join(args.model, "open_clip_model.safetensors")), weights_bin)
        model, _, tokenizer = load_open_clip(open_clip, args.model, weights_bin)
        image_size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) \
            else model.visual.image_size

        meta = open_clip.zero_shot_metadata
        if args.imagenet:
            labels, templates = list(meta.IMAGENET_CLASSNAMES), list(meta.OPENAI_IMAGENET_TEMPLATES)
            labels_file, vit_templates = None, None  # vit-classify's own default: the same table
        else:
            labels = list(meta.IMAGENET_CLASSNAMES[:args.labels])
            templates = list(meta.OPENAI_IMAGENET_TEMPLATES[:args.templates])
            labels_file = os.path.join(tmp, "labels.txt")
            with open(labels_file, "w", encoding="utf-8") as f:
                f.write("".join(label + "\n" for label in labels))
            vit_templates = [t("{}") for t in templates]
        prompts = f"{len(labels)} labels x {len(templates)} templates = {len(labels) * len(templates)} prompts"
        common = vit_common(args, labels_file, vit_templates)

        # The text tower. vit-classify: the -v line, and the cold run's wall minus a warm run's.
        log(f"text tower: {prompts}")
        vit_text, vit_text_wall, py_text = None, None, None
        try:
            cold, r = run_timed([args.binary, "-v", *common, "--", args.photo], args.timeout, env)
            m = re.search(r"text tower ([0-9.]+) s", r.stderr)
            if not m:
                raise RuntimeError("no 'text tower X s' in vit-classify -v's log")
            warm, _ = run_timed([args.binary, *common, "--", args.photo], args.timeout, env)
            vit_text, vit_text_wall = float(m.group(1)), cold - warm
        except (Timeout, RuntimeError) as e:
            skipped.append(f"vit-classify text tower ({prompts}): {e}")
        classifier = None
        try:
            with time_limit(args.timeout), torch.inference_mode():
                t0 = time.perf_counter()
                classifier = open_clip.build_zero_shot_classifier(
                    model, tokenizer, labels, templates, num_classes_per_batch=10, use_tqdm=False)  # [E, K]
                py_text = time.perf_counter() - t0
        except Timeout as e:
            skipped.append(f"open_clip text tower ({prompts}): {e}; its image rows use random unit vectors")
        if classifier is None:
            g = torch.Generator().manual_seed(0)
            classifier = torch.nn.functional.normalize(
                torch.randn(model.text_projection.shape[1], len(labels), generator=g), dim=0)
        rows.append((f"text tower: zero-shot classifier, {prompts}",
                     f"{vit_text:.2f} s (cold minus warm run {vit_text_wall:.2f} s)" if vit_text is not None
                     else "skipped",
                     f"{py_text:.2f} s" if py_text is not None else "skipped",
                     f"{py_text / vit_text:.2f}" if vit_text and py_text else ""))
        if vit_text_wall is not None:
            log(f"vit-classify text tower {vit_text:.2f} s (-v), cold minus warm run {vit_text_wall:.2f} s")

        # Cold start, one photo, label vectors cached (vit-classify's cache is warm from above).
        saved = os.path.join(tmp, "classifier.pt")
        torch.save({"classifier": classifier, "labels": labels}, saved)
        py_cmd = [sys.executable, os.path.abspath(__file__), args.model, "--shared", args.shared,
                  "--threads", str(args.threads), "--photo", args.photo,
                  "--child-bin", weights_bin, "--child-classifier", saved]
        best, top = {}, {}
        for system, cmd in (("vit-classify", [args.binary, *common, "--", args.photo]), ("open_clip", py_cmd)):
            try:
                runs = [run_timed(cmd, args.timeout, env) for _ in range(args.repeats)]
                times = [t for t, _ in runs]
                best[system] = min(times)
                top[system] = runs[0][1].stdout.splitlines()[0]
                log(f"cold start {system}: " + ", ".join(f"{t:.2f}" for t in times) + " s")
            except (Timeout, RuntimeError) as e:
                skipped.append(f"cold start {system}: {e}")
        if len(top) == 2:  # the same answer: open_clip's top label is in vit-classify's first line
            same = top["open_clip"].split("\t", 1)[1] in top["vit-classify"]
            log(f"top label: vit-classify '{top['vit-classify']}', open_clip '{top['open_clip']}'"
                + ("" if same else "  <-- they differ"))
        rows.append((f"one photo, whole process, label vectors cached (best of {args.repeats})",
                     f"{best['vit-classify']:.2f} s" if "vit-classify" in best else "skipped",
                     f"{best['open_clip']:.2f} s" if "open_clip" in best else "skipped",
                     f"{best['open_clip'] / best['vit-classify']:.2f}" if len(best) == 2 else ""))

        # The image tower + zero-shot head per batch size.
        batches = [int(b) for b in args.batch_sizes.split(",")]
        py = {}
        for n in batches:
            try:
                with time_limit(args.timeout):
                    py[n] = python_image_tower(torch, model, classifier, image_size, n, args.threads,
                                               args.warmup, args.seconds)
                log(f"open_clip batch {n}: p50 {py[n][0]:.1f} ms, {py[n][1]:.2f} img/s ({py[n][2]} batches)")
            except Timeout as e:
                skipped.append(f"open_clip image tower batch {n}: {e}")
        for precision in args.precisions.split(","):
            cmd = [args.binary, "bench", *common, "--precision", precision, "--batch-size", args.batch_sizes,
                   "--warmup", str(args.warmup), "--seconds", str(args.seconds), "--format", "json"]
            try:
                _, r = run_timed(cmd, args.timeout, env)
            except (Timeout, RuntimeError) as e:
                skipped.append(f"vit-classify bench {precision}: {e}")
                continue
            report = json.loads(r.stdout)
            log(f"vit-classify {precision}: kernels {report.get('kernels') or '-'}; {report['description']}")
            for res in report["results"]:
                n = res["batch_size"]
                ref = py.get(n)
                rows.append((f"image tower + head, batch {n}, {precision} (open_clip fp32)",
                             f"{res['p50_ms']:.1f} ms, {res['images_per_second']:.2f} img/s",
                             f"{ref[0]:.1f} ms, {ref[1]:.2f} img/s" if ref else "skipped",
                             f"{res['images_per_second'] / ref[1]:.2f}" if ref else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")
    print(f"\nmodel: {args.model}\n")
    print("| what | vit-classify | open_clip (PyTorch) | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for s in skipped:
        print(f"skipped: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

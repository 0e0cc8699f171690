#!/usr/bin/python3
"""Makes a folder of real-size JPEG photos for scripts/bench_batch.sh: the MATE background
photos (Debian's mate-backgrounds) and scikit-image's sample photos, cropped and scaled to
common camera/screen sizes (640x480 ... 1920x1080), 64 files by default.

    scripts/make_bench_images.py OUT_DIR [COUNT]
"""
import glob
import os
import sys

from PIL import Image

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 64
sources = sorted(glob.glob("/usr/share/backgrounds/mate/nature/*.jpg")) + \
    ["/usr/share/backgrounds/mate/abstract/Elephants.jpg"] + \
    [f"/usr/lib/python3/dist-packages/skimage/data/{n}" for n in
     ("chelsea.png", "coffee.png", "astronaut.png", "motorcycle_left.png", "hubble_deep_field.jpg")]
sources = [s for s in sources if os.path.exists(s)]
if not sources:
    sys.exit("no source photos: apt-get install mate-backgrounds python3-skimage")
sizes = [(640, 480), (1024, 768), (1280, 720), (1920, 1080), (800, 600), (1600, 1200)]
os.makedirs(out, exist_ok=True)
for i in range(count):
    src = Image.open(sources[i % len(sources)]).convert("RGB")
    w, h = sizes[i % len(sizes)]
    if i % 2:  # portrait half the time
        w, h = h, w
    # crop the source to the target aspect, then scale (never beyond 2x up)
    sw, sh = src.size
    scale = max(w / sw, h / sh)
    cw, ch = int(w / scale), int(h / scale)
    left, top = (sw - cw) * (i % 3) // 2, (sh - ch) * (i % 5) // 4
    img = src.crop((left, top, left + cw, top + ch)).resize((w, h), Image.LANCZOS)
    img.save(f"{out}/photo_{i:03d}.jpg", quality=90)
print(f"wrote {count} photos to {out}")

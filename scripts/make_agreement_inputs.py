#!/usr/bin/python3
"""A fixed, deterministic set of real photographs for measuring how often reduced-precision
inference (bf16, int8) picks the same class as fp32: every photo found in the Debian packages
listed below (their drawings, logos, renders, test patterns and text pages left out by hand)
and the 17 labelled ImageNet photos, each written as itself and as a few deterministic variants. Compare runs with
scripts/precision_agreement.py.

    /usr/bin/python3 scripts/make_agreement_inputs.py OUT_DIR [--shared ../shared] [--max-side 1600]
    vit-classify -m MODEL -r --format json -k 5 -o fp32.jsonl OUT_DIR
    vit-classify -m MODEL -r --format json -k 5 --precision int8 -o int8.jsonl OUT_DIR   (and bf16)
    /usr/bin/python3 scripts/precision_agreement.py fp32.jsonl int8.jsonl --name int8

Each source is first scaled down so that its longer side is at most --max-side. Then, per photo:
_orig (re-encoded), _flip (mirrored left-right), _crop60 (centre, 60% of each side), _crop_tl
and _crop_br (50% of each side, starting 10% in from the top-left / ending 10% short of the
bottom-right corner), _scale40 (40% size) and, for every fourth photo, _rot90 (a quarter
turn anticlockwise). Grey sources become RGB; transparency is laid on white. Lossless sources
(PNG, raw arrays) are written as PNG, the others as JPEG quality 95. The stereo-calibration
chessboard photos (opencv left01..right14) are written once each, without variants.
OUT_DIR/manifest.tsv lists file, source and transform. Absent sources are skipped; what was
found is said per package on stderr. Needs only PIL and numpy (python3-pil, python3-numpy).

Sources (apt-get install mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers
python3-skimage python3-matplotlib python3-scipy python3-pywt python3-sklearn opencv-doc)
and their licences, from /usr/share/doc/<package>/copyright unless said otherwise:
- mate-backgrounds, nature/*.jpg: GPL-2+ (photographers Charles Barbin, Lennart Poettering,
  Marco Cogoni, Jens Ansorg, Timothy Schellhase, Sergey Nazarov, Jean-François Fortin Tam...).
- plasma-workspace-wallpapers: GPL-2+ (KDE Visual Design Group; photos by Risto Saukonpää,
  Maciej Wiklo, Dmitri Popov, Ian Hex, Martin Klapetek, Sigi Sagi per each metadata.json).
- lomiri-wallpapers-16.04 / -20.04 (Ubuntu community photos): CC-BY-4.0, CC-BY-SA-4.0,
  CC0-1.0 or CC-BY-SA-3.0, per file (photographer in each file name).
- python3-skimage data: BSD-3-Clause package; the photos themselves are CC0 or public
  domain per skimage.data's docstrings (astronaut, hubble_deep_field: NASA; rocket: SpaceX;
  camera: Lav Varshney; chelsea, clock: Stefan van der Walt; coffee: Rachel Michetti; brick,
  grass, gravel: CC0 textures; coins: Brooklyn Museum; retina: Wikimedia CC0; ihc: CMMI;
  motorcycle: Middlebury stereo data set).
- python-matplotlib-data, grace_hopper.jpg: US Navy portrait, public domain (matplotlib
  licence for the package).
- python3-scipy, misc/face.dat: public domain (public-domain-image.com, per scipy.misc.face).
- python3-pywt, data/{aero,ascent,camera}.npz: Expat (MIT) package; ascent is public domain.
- python3-sklearn, datasets/images/{china,flower}.jpg: CC-BY-2.0, danielbuechele and
  vultilion on Flickr (datasets/images/README.txt).
- opencv-doc, examples/: Apache-2.0 AND BSD-3-Clause (OpenCV); Debian removed lena (DFSG).
- ../shared/images/imagenet/*.png, 17 labelled ImageNet photos: their authors' copyright,
  for testing only (see the README there). Read in place, never copied into the project.
"""
import argparse
import bz2
import glob
import os
import re
import sys

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
OPENCV = "/usr/share/doc/opencv-doc/examples"
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
                 "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path", "summer_1am")
LOMIRI_PHOTOS = ("Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace",
                 "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
                 "analogpattern_by_Peter_Nerlich", "free_by_Peter_Nerlich",
                 "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
                 "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
                 "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi",
                 "Kleiber_by_Lukas_Baubkus")
SKIMAGE_PHOTOS = ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "clock_motion.png",
                  "coffee.png", "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg",
                  "ihc.png", "moon.png", "motorcycle_left.png", "motorcycle_right.png",
                  "retina.jpg", "rocket.jpg")
OPENCV_DATA_PHOTOS = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "aloeR.jpg", "apple.jpg",
                      "baboon.jpg", "basketball1.png", "basketball2.png", "blox.jpg", "board.jpg",
                      "box.png", "box_in_scene.png", "building.jpg", "butterfly.jpg",
                      "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "graf3.png",
                      "home.jpg", "left.jpg", "right.jpg", "leuvenA.jpg", "leuvenB.jpg",
                      "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg", "pca_test1.jpg",
                      "rubberwhale1.png", "rubberwhale2.png", "smarties.png", "squirrel_cls.jpg",
                      "stuff.jpg")
OPENCV_MORE_PHOTOS = ("alphamat/input_images/plant.jpg", "dnn_superres/butterfly.png",
                      "hfs/data/000.jpg", "hfs/data/001.jpg", "hfs/data/002.jpg", "reg/home.png",
                      "text/scenetext01.jpg", "text/scenetext02.jpg", "text/scenetext03.jpg",
                      "text/scenetext04.jpg", "text/scenetext05.jpg", "text/scenetext06.jpg")

# (x0, y0, x1, y1) as fractions of the width and height
CROPS = {"crop60": (0.2, 0.2, 0.8, 0.8), "crop_tl": (0.1, 0.1, 0.6, 0.6),
         "crop_br": (0.4, 0.4, 0.9, 0.9)}
SCALE = 0.4
ROTATE_EVERY = 4  # every fourth photo (in source order) also gets _rot90
JPEG_QUALITY = 95


def sources(shared):
    """(package, name prefix, path patterns, whether to make variants), in a fixed order."""
    return [
        ("mate-backgrounds", "mate", ["/usr/share/backgrounds/mate/nature/*.jpg"], True),
        ("plasma-workspace-wallpapers", "plasma",
         [f"/usr/share/wallpapers/{n}/contents/images/2560x1600.jpg" for n in PLASMA_PHOTOS], True),
        ("lomiri-wallpapers-16.04/-20.04", "lomiri",
         [f"/usr/share/backgrounds/{n}.jpg" for n in LOMIRI_PHOTOS], True),
        ("python3-skimage", "skimage", [f"{SKIMAGE}/{n}" for n in SKIMAGE_PHOTOS], True),
        ("python-matplotlib-data", "mpl",
         ["/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"], True),
        ("python3-scipy", "scipy", ["/usr/lib/python3/dist-packages/scipy/misc/face.dat"], True),
        ("python3-pywt", "pywt",
         [f"/usr/lib/python3/dist-packages/pywt/data/{n}.npz" for n in ("aero", "ascent", "camera")],
         True),
        ("python3-sklearn", "sklearn",
         [f"/usr/lib/python3/dist-packages/sklearn/datasets/images/{n}.jpg" for n in ("china", "flower")],
         True),
        ("opencv-doc", "opencv", [f"{OPENCV}/data/{n}" for n in OPENCV_DATA_PHOTOS], True),
        ("opencv-doc (contrib samples)", "opencv-contrib",
         [f"{OPENCV}/{n}" for n in OPENCV_MORE_PHOTOS], True),
        ("opencv-doc (calibration photos, no variants)", "opencv-calib",
         [f"{OPENCV}/data/left[0-9][0-9].jpg", f"{OPENCV}/data/right[0-9][0-9].jpg"], False),
        ("ImageNet photos in " + os.path.join(shared, "images", "imagenet"), "imagenet",
         [os.path.join(shared, "images", "imagenet", "*.png")], True),
    ]


def expand(patterns):
    """The files the patterns name, each pattern's matches sorted, absent ones dropped."""
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(pattern)) if glob.has_magic(pattern) else \
            [pattern] if os.path.isfile(pattern) else []
    return found


def stem(path):
    """A photo's name: its file name without extension, or for KDE's NAME/contents/images/
    WxH.jpg layout, NAME."""
    base = os.path.splitext(os.path.basename(path))[0]
    if re.fullmatch(r"\d+x\d+", base):
        return path.split(os.sep)[-4]
    return base


def load(path):
    """(RGB image, whether the source was lossless). Reads scipy's raw face.dat, PyWavelets'
    .npz arrays and anything PIL opens (EXIF orientation applied, alpha laid on white)."""
    if path.endswith(".dat"):  # scipy.misc.face: bz2 of a raw (768, 1024, 3) uint8 array
        raw = np.frombuffer(bz2.decompress(open(path, "rb").read()), np.uint8)
        return Image.fromarray(raw.reshape(768, 1024, 3)), True
    if path.endswith(".npz"):  # PyWavelets' sample images: a 2-D uint8 array under "data"
        with np.load(path) as arrays:
            return Image.fromarray(arrays["data"]).convert("RGB"), True
    with Image.open(path) as im:
        lossless = im.format != "JPEG"
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, im).convert("RGB"), lossless
        return im.convert("RGB"), lossless


def limit(im, max_side):
    """im scaled down (Lanczos) so that its longer side is at most max_side."""
    w, h = im.size
    if max(w, h) <= max_side:
        return im
    f = max_side / max(w, h)
    return im.resize((max(1, int(w * f + 0.5)), max(1, int(h * f + 0.5))), Image.Resampling.LANCZOS)


def crop(im, box):
    """The part of im inside box, given as fractions (x0, y0, x1, y1) of its size."""
    w, h = im.size
    x0, y0, x1, y1 = box
    return im.crop((int(x0 * w + 0.5), int(y0 * h + 0.5), int(x1 * w + 0.5), int(y1 * h + 0.5)))


def variants(im, with_variants, rotate):
    """[(transform name, image)] for one photo: the original, then the variants."""
    out = [("orig", im)]
    if not with_variants:
        return out
    out.append(("flip", im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out += [(name, crop(im, box)) for name, box in CROPS.items()]
    w, h = im.size
    out.append(("scale40", im.resize((max(1, int(w * SCALE + 0.5)), max(1, int(h * SCALE + 0.5))),
                                     Image.Resampling.LANCZOS)))
    if rotate:
        out.append(("rot90", im.transpose(Image.Transpose.ROTATE_90)))
    return out


def save(im, path, lossless):
    """Writes im as PNG (lossless sources) or JPEG quality 95, nothing time-dependent."""
    if lossless:
        im.save(path, "PNG")
    else:
        im.save(path, "JPEG", quality=JPEG_QUALITY)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"),
                    help="the shared folder holding images/imagenet (default ../shared)")
    ap.add_argument("--max-side", type=int, default=1600)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    rows, seen, photo_index = [], set(), 0
    for package, prefix, patterns, with_variants in sources(os.path.normpath(args.shared)):
        paths = expand(patterns)
        print(f"{package}: {len(paths)} photo(s)", file=sys.stderr)
        for path in paths:
            im, lossless = load(path)
            im = limit(im, args.max_side)
            rotate = with_variants and photo_index % ROTATE_EVERY == 0
            photo_index += 1
            ext = "png" if lossless else "jpg"
            for transform, out in variants(im, with_variants, rotate):
                name = f"{prefix}-{stem(path)}_{transform}.{ext}"
                if name in seen:
                    sys.exit(f"make_agreement_inputs: two photos would both be written as {name}")
                seen.add(name)
                save(out, os.path.join(args.out_dir, name), lossless)
                rows.append((name, path, transform))
    if not rows:
        sys.exit("make_agreement_inputs: no source photos found (see the packages in --help)")
    with open(os.path.join(args.out_dir, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tsource\ttransform\n")
        f.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{photo_index} photos, {len(rows)} files written to {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()

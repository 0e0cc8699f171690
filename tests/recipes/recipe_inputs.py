#!/usr/bin/python3
"""What the README's scale-out recipes are run on: the recipe itself, taken from README.md (so
README and tests cannot drift), a model, and a folder of real photos with one bad file.
Used by check_parallel_recipe.py, and by scripts/slurm_demo.sh through the command line:

    recipe_inputs.py model SOURCE_DIR [FIXTURES_DIR]   prints the model path, or exits 77
    recipe_inputs.py folder DIR                        fills DIR (made if absent) with photos
    recipe_inputs.py block README FIRST_WORD           prints README's ```sh block whose first
                                                       line starts with FIRST_WORD
    recipe_inputs.py replace OLD NEW [OLD NEW ...]     copies stdin to stdout with each OLD
                                                       replaced by NEW; fails if an OLD is absent"""
import os
import re
import shutil
import sys

SKIP = 77  # CTest's SKIP_RETURN_CODE for this test
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
MATE = "/usr/share/backgrounds/mate"
# (source, name in the folder): some at the top, some in a subfolder; small enough to decode fast.
PHOTOS = [
    (f"{SKIMAGE}/astronaut.png", "astronaut.png"),
    (f"{SKIMAGE}/chelsea.png", "chelsea.png"),
    (f"{SKIMAGE}/coffee.png", "coffee.png"),
    (f"{SKIMAGE}/camera.png", "camera.png"),
    (f"{SKIMAGE}/motorcycle_left.png", "motorcycle_left.png"),
    (f"{SKIMAGE}/rocket.jpg", "sub/rocket.jpg"),
    (f"{SKIMAGE}/hubble_deep_field.jpg", "sub/hubble_deep_field.jpg"),
    (f"{MATE}/nature/FreshFlower.jpg", "sub/FreshFlower.jpg"),
    (f"{MATE}/nature/GreenMeadow.jpg", "sub/GreenMeadow.jpg"),
    (f"{MATE}/nature/Aqua.jpg", "sub/deeper/Aqua.jpg"),
    (f"{MATE}/nature/LadyBird.jpg", "sub/deeper/LadyBird.jpg"),
    (f"{MATE}/nature/YellowFlower.jpg", "YellowFlower.jpg"),
]
BAD_FILE = "notes.jpg"  # text named .jpg: its record is an error, and the run exits 1


class RecipeError(Exception):
    """README.md does not hold the recipe in the shape the tests expect."""


class Skip(Exception):
    """What the test needs is not on this machine (not a failure of the recipe)."""


def find_model(source_dir, fixtures_dir=None):
    """The real ViT-Ti (models/ or ../shared/models/ beside the source tree), else the small
    random ViT that tests/reference/make_fixtures.py writes (with its config.json)."""
    candidates = [
        os.path.join(source_dir, "models", "vit_tiny_patch16_224.safetensors"),
        os.path.join(source_dir, "..", "shared", "models", "vit_tiny_patch16_224.safetensors"),
    ]
    for path in candidates:
        if os.path.isfile(path):
            return os.path.abspath(path)
    if fixtures_dir:  # random weights: the config.json beside them gives the shape
        path = os.path.join(fixtures_dir, "small", "timm.safetensors")
        candidates.append(path)
        if os.path.isfile(path) and os.path.isfile(os.path.join(fixtures_dir, "small", "config.json")):
            return os.path.abspath(path)
    raise Skip("no model to run the recipe with; looked for " + ", ".join(candidates))


def fill_folder(folder):
    """Copies the photos that exist into folder (some in subfolders) and adds the bad file;
    returns the relative names of everything written."""
    written = []
    for source, name in PHOTOS:
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
            shutil.copyfile(source, os.path.join(folder, name))
            written.append(name)
    if len(written) < 4:
        raise Skip(f"only {len(written)} test photos found (Debian's python3-skimage provides {SKIMAGE})")
    with open(os.path.join(folder, BAD_FILE), "w") as f:
        f.write("this is a text file, not a JPEG\n")
    written.append(BAD_FILE)
    return written


def readme_block(readme, first_word):
    """The lines of README's ```sh code block whose first line starts with first_word; there
    must be exactly one."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    found = [b.splitlines() for b in blocks if b.startswith(first_word)]
    if len(found) != 1:
        raise RecipeError(f"{readme}: expected one ```sh block starting with '{first_word}', found {len(found)}; "
                          "did the \"Many machines\" recipes move or change?")
    return found[0]


def substitute(line, placeholder, value, what):
    """line with the whole word placeholder replaced by value (shell-quoted); the placeholder
    must be there."""
    pattern = r"(?<![^\s=])" + re.escape(placeholder) + r"(?![^\s;|&)])"
    new, count = re.subn(pattern, lambda _: shell_quote(value), line)
    if count == 0:
        raise RecipeError(f"the recipe line has no '{placeholder}' ({what}) to replace: {line}")
    return new


def shell_quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "model":
            print(find_model(argv[1], argv[2] if len(argv) > 2 else None))
        elif len(argv) == 2 and argv[0] == "folder":
            os.makedirs(argv[1], exist_ok=True)
            for name in fill_folder(argv[1]):
                print(name)
        elif len(argv) == 3 and argv[0] == "block":
            print("\n".join(readme_block(argv[1], argv[2])))
        elif len(argv) >= 3 and len(argv) % 2 == 1 and argv[0] == "replace":
            text = sys.stdin.read()
            for old, new in zip(argv[1::2], argv[2::2]):
                if old not in text:
                    raise RecipeError(f"the recipe has no '{old}' to replace with '{new}':\n{text}")
                text = text.replace(old, new)
            sys.stdout.write(text)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Skip as e:
        print(f"recipe_inputs: skipped: {e}", file=sys.stderr)
        return SKIP
    except (RecipeError, OSError) as e:
        print(f"recipe_inputs: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

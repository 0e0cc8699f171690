#!/usr/bin/python3
"""open_clip's CLIP token ids, the oracle of tests/test_tokenizer.cpp, one JSON object a line:
{"kind", "text", "ids": open_clip's encode(text), "ftfy": whether ftfy.fix_text changes the text},
with "tokens" (open_clip's 77-token row, trailing zeros cut) where the text is too long for it.

    tests/reference/make_tokenizer_fixtures.py OUT_DIR [--shared ../shared] [--count 3000]
        OUT_DIR/tokenizer_random.jsonl: seeded random strings from many scripts' characters,
        emoji, entities, apostrophes, digits, whitespace (CTest writes it into the build tree);
        OUT_DIR/tokenizer_hf/: the same vocabulary as Hugging Face's vocab.json and merges.txt
        OUT_DIR/imagenet_zero_shot.json: open_clip's ImageNet zero-shot table, {"classnames": its
        IMAGENET_CLASSNAMES, "templates": its OPENAI_IMAGENET_TEMPLATES applied to "{}"}, the oracle of
        tests/test_zero_shot_table.cpp
    tests/reference/make_tokenizer_fixtures.py --labels tests/reference
        OUT_DIR/tokenizer_labels.jsonl: labels as people type them (small; committed)

kind "label": open_clip's ids, flagged where ftfy changes the text (the C++ tokenizer does not run
ftfy). kind "random": open_clip's ids; a random string that ftfy.fix_text changes is left out of
these and counted. kind "no_ftfy": those left-out strings (up to --count of them) with the ids
open_clip gives when ftfy.fix_text is the identity: what the C++ tokenizer promises for them,
which checks its HTML unescaping and whitespace handling against Python's own.
Needs Debian's python3-regex, python3-wcwidth, python3-torch and ../shared/reference (open_clip
2.26.1 and ftfy 6.3.1); without ../shared it writes nothing (the tests then skip).
"""
import argparse
import importlib.util
import json
import os
import random
import sys

# Labels as people type them: scripts, accents, emoji, entities, apostrophes, digits.
LABELS = [
    "a photo of a cat", "a photo of a {}.", "golden retriever", "Café au lait", "crème brûlée", "São Paulo",
    "Smørrebrød", "Łódź", "İstanbul", "straße", "ΟΔΟΣ", "Ἀθῆναι", "σοφία", "кошка", "Москва", "Ёлка", "قطة",
    "مرحبا بالعالم", "חתול", "שָׁלוֹם", "बिल्ली", "नमस्ते दुनिया", "แมว", "สวัสดีครับ", "猫", "東京タワー", "北京烤鸭",
    "고양이", "안녕하세요", "ｶﾀｶﾅ", "🐱", "😀😃", "👍🏽", "👩‍👩‍👧‍👦", "🏳️‍🌈", "👨🏿‍💻 coder", "🇫🇷 flag", "❤️",
    "rock & roll", "rock &amp; roll", "&eacute;clair", "caf&#233;", "&#x1F600; smile", "&notanentity;", "&amp;amp;",
    "&#0;", "&#128;", "&#x80;", "&#55296;", "&#1114112;", "&#99999999999999999999;", "&ampfoo", "&#x;", "&#;", "&",
    "AT&T", "Tom & Jerry", "it's", "don't", "we're", "you've", "I'm", "we'll", "he'd", "IT'S", "o'clock", "rock'n'roll",
    "dog’s bed", "''quoted''", "\"quoted\"", "1984", "3.14159", "100%", "$5.99", "2nd place", "50/50", "#hashtag",
    "@user", "e-mail", "C++", "x86_64", "<start_of_text>", "<end_of_text>", "<START_OF_TEXT> cat", "<ſtart_of_text>",
    "'ſ", "a\u0345b", "  lots   of\tspace\n", "\u3000full width space\u00a0nbsp", "ﬁsh", "Ⅻ", "①②", "½", "x²",
    "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    " ".join(["word"] * 100), "🐱" * 90, "a" * 500, " ".join(str(i) for i in range(60)),
]

# Pieces the random strings are made of, by class.
CLASSES = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digit": "0123456789٠١٢३४๕",
    "punct": "!\"#$%()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»—–…·•§¶†‰′″‹›",
    "latin": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿāăąćčďđēėęěğīįıķĺľłńňōőœřśşšţťūůűųźżžșțÀÉÎÕÜÇÑŒŠŽĞİẞ",
    "greek": "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώΑΒΓΔΣΩΆΈϊΐ",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЖЩЯЁіїєґІЇЄЃ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשתךםןףץ",
    "devanagari": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसहािीुूेैोौंःँ्",
    "thai": "กขคงจฉชซญดตถทธนบปผฝพฟภมยรลวศษสหอฮะัาำิีึืุูเแโใไ่้๊๋็์",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年山水火木金土日月猫狗東京",
    "kana": "あいうえおかきくけこさしすせそアイウエオカキクケコンー",
    "hangul": "가나다라마바사아자차카타파하고양이한국어",
    "emoji": ["😀", "😂", "🐱", "🐶", "🍕", "🚗", "❤️", "👍", "👍🏻", "👍🏿", "👩‍💻", "👨‍👩‍👧", "🏳️‍🌈", "🇯🇵", "✨", "🎉", "☕"],
    "space": [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009"],
    "entity": ["&amp;", "&eacute;", "&#233;", "&#x1F600;", "&notanentity;", "&lt;", "&gt;", "&quot;", "&#39;", "&",
               "&#", "&#x", "&copy", "&nbsp;", "&AMP;", "&#150;", "&amp;lt;"],
    "apostrophe": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "''", "'x"],
    "special": ["Σ", "İ", "ſ", "ß", "ǅ", "\u0345", "\u0301", "\u200d", "\ufe0f", "Ⅳ", "ⅳ", "²", "Ⓐ", "ǈ"],
}


def load_open_clip(shared):
    sys.path.insert(0, os.path.join(shared, "reference"))  # ftfy
    path = os.path.join(shared, "reference", "open_clip", "tokenizer.py")
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer", path)  # without open_clip's package
    module = importlib.util.module_from_spec(spec)
    sys.modules["open_clip_tokenizer"] = module
    spec.loader.exec_module(module)
    import ftfy
    return module.SimpleTokenizer(), ftfy


def random_string(rng, names=tuple(CLASSES)):
    parts = []
    for _ in range(rng.choice([1, 2, 3, 4, 6, 8, 12])):
        cls = CLASSES[rng.choice(names)]
        run = rng.randint(1, 6)
        parts.append("".join(rng.choice(cls) for _ in range(run)))
        if rng.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


def record(tok, ftfy, kind, text):
    ids = tok.encode(text)
    rec = {"kind": kind, "text": text, "ids": ids, "ftfy": ftfy.fix_text(text) != text}
    if len(ids) > tok.context_length - 2:
        row = tok(text)[0].tolist()
        while row and row[-1] == 0:
            row.pop()
        rec["tokens"] = row
    return rec


def write(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    return f"{path} ({os.path.getsize(path)} bytes)"


def write_hugging_face(tok, folder):
    """The same tokenizer in Hugging Face's CLIPTokenizer files, as the hub's openai/clip-vit-*
    repositories hold them: vocab.json is open_clip's token -> id table with the special tokens
    named <|startoftext|> and <|endoftext|> (ids 49406, 49407), merges.txt a "#version: 0.2"
    line and then open_clip's 48894 merges in rank order, "left right" a line."""
    os.makedirs(folder, exist_ok=True)
    rename = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {rename.get(t, t): i for t, i in tok.encoder.items()}
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    merges = sorted(tok.bpe_ranks, key=tok.bpe_ranks.get)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


def write_zero_shot_table(shared, path):
    """open_clip's zero_shot_metadata.py (loaded alone, without open_clip's package): the 1000
    class names and the 80 templates, each template written with "{}" where the name goes."""
    source = os.path.join(shared, "reference", "open_clip", "zero_shot_metadata.py")
    spec = importlib.util.spec_from_file_location("open_clip_zero_shot_metadata", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = {"classnames": list(module.IMAGENET_CLASSNAMES),
             "templates": [t("{}") for t in module.OPENAI_IMAGENET_TEMPLATES]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(table, f, ensure_ascii=False, indent=0)
    return f"{len(table['classnames'])} class names, {len(table['templates'])} templates -> {path}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--labels", action="store_true", help="write tokenizer_labels.jsonl only")
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "..", "shared"))
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=26)
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.shared, "reference", "open_clip", "tokenizer.py")):
        print(f"make_tokenizer_fixtures: no open_clip under {args.shared}/reference; nothing written")
        return
    tok, ftfy = load_open_clip(args.shared)
    os.makedirs(args.out_dir, exist_ok=True)
    if not args.labels:
        where = write_zero_shot_table(args.shared, os.path.join(args.out_dir, "imagenet_zero_shot.json"))
        print(f"make_tokenizer_fixtures: ImageNet zero-shot table: {where}")
    if args.labels:
        records = [record(tok, ftfy, "label", t) for t in LABELS]
        where = write(os.path.join(args.out_dir, "tokenizer_labels.jsonl"), records)
        print(f"make_tokenizer_fixtures: {len(records)} labels ({sum(r['ftfy'] for r in records)} that ftfy "
              f"changes) -> {where}")
        return
    rng = random.Random(args.seed)
    records, changed = [], []
    # Mostly short strings, then a few long ones past the 77-token context.
    while len(records) < args.count + 20:
        long = len(records) >= args.count
        # (the long ones from classes ftfy leaves alone, or nearly all would be left out)
        plain = [c for c in CLASSES if c not in ("entity", "space", "special")]
        text = " ".join(random_string(rng, plain) for _ in range(30)) if long else random_string(rng)
        if ftfy.fix_text(text) != text:
            changed.append(text)
            continue
        records.append(record(tok, ftfy, "random", text))
    count_changed = len(changed)
    # The pipeline without ftfy, for the strings ftfy changes.
    module = sys.modules["open_clip_tokenizer"]
    fix_text, module.ftfy.fix_text = module.ftfy.fix_text, lambda text, *a, **k: text
    try:
        records += [dict(record(tok, ftfy, "no_ftfy", t), ftfy=True) for t in changed[: args.count]]
    finally:
        module.ftfy.fix_text = fix_text
    where = write(os.path.join(args.out_dir, "tokenizer_random.jsonl"), records)
    write_hugging_face(tok, os.path.join(args.out_dir, "tokenizer_hf"))
    print(f"make_tokenizer_fixtures: {args.count + 20} random strings; {count_changed} more left out of them "
          f"because ftfy.fix_text changes them ({min(count_changed, args.count)} kept as no_ftfy) -> {where}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks the generated man page and shell completions.

  check_docs.py BINARY SOURCE_DIR

First, that docs/vit-classify.1, completions/vit-classify.bash and completions/_vit-classify
are what the option table makes now (scripts/generate_docs.sh --check: a row changed without
regenerating fails here). Then, that what was generated works: for every command the main
--help lists, runs `BINARY help COMMAND` and fails naming each option missing from the man page,
from what completions/vit-classify.bash really offers (its function is run in bash, as
bash-completion would run it), or from completions/_vit-classify's spec for that command; and
each value of an enumerated option (from the help's "a, b or c" description, else the option's
vocabulary table in the sources) missing from either completion. Also checks the man page's
EXIT STATUS against the help's table, and its ENVIRONMENT. The zsh script is loaded by zsh
when zsh is installed.
"""
import os
import re
import shutil
import subprocess
import sys

ENVIRONMENT = ["VIT_CLASSIFY_MODEL", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_ENDPOINT", "HF_TOKEN",
               "HF_HUB_OFFLINE"]
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
OPTION = re.compile(r"^ {2}(-[^ ].*?)(?: {2,}(.*))?$")


def run_help(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"check_docs: `{' '.join([binary, *args])}` exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def sections(text):
    """{heading: [lines]} of a CLI11 help text ("Options:", "Subcommands:", "Exit status:" ...)."""
    out, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def strip_parentheses(text):
    while True:
        shorter = re.sub(r"\s*\([^()]*\)", "", text)
        if shorter == text:
            return text
        text = shorter


def listed_values(description):
    """The words of a description that ends "...: a, b or c" (or is just "a, b or c")."""
    tail = strip_parentheses(description).split(": ")[-1].strip()
    word = r"[a-z0-9][a-z0-9_.:-]*"
    if not re.fullmatch(rf"{word}(?:, {word})*,? or [A-Za-z0-9_.:-]+", tail):
        return []
    # A placeholder such as cuda:N is a pattern, not a value.
    return [w for w in re.split(r",? or |, ", tail) if not re.search(r"[A-Z]", w)]


def parse_options(help_text):
    """[(names, values)] of the Options section: names like ["-m", "--model"]."""
    options = []
    for line in sections(help_text).get("Options", []):
        m = OPTION.match(line)
        if not m:
            continue
        head, description = m.group(1), m.group(2) or ""
        names_part, _, type_part = head.partition(" ")
        names = [n for n in names_part.split(",") if n.startswith("-")]
        values = []
        braces = re.search(r"\{([^}]*)\}", type_part + " " + description)
        if braces:
            values = [v.strip() for v in braces.group(1).split(",") if v.strip()]
        elif type_part:  # flags take no value
            values = listed_values(description)
        options.append((names, values, bool(type_part)))
    return options


def vocabulary_values(source_dir, option):
    """The names in the vocabulary table for --option (`option_names()` in include/ or src/)."""
    function = option.lstrip("-").replace("-", "_") + "_names"
    for top in ("include", "src"):
        for dirpath, _, files in os.walk(os.path.join(source_dir, top)):
            for f in files:
                if not f.endswith((".h", ".cpp")):
                    continue
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                m = re.search(rf"\b{function}\(\)\s*\{{(.*?)\n\}}", text, re.S)
                if m:
                    return re.findall(r'\{\s*"([^"]+)"\s*,', m.group(1))
    return []


def man_text(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&", "", text)
    return text.replace("\\-", "-")


def mentions(text, option):
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


class BashCompletion:
    """Runs completions/vit-classify.bash's function for a command line, as bash-completion does."""

    def __init__(self, script):
        self.script = script
        self.loader = BASH_COMPLETION if os.path.exists(BASH_COMPLETION) else None

    def complete(self, words, cwd):
        prelude = f"source {self.loader}; " if self.loader else ""
        program = (prelude + 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; '
                   'COMP_POINT=${#COMP_LINE}; _vit_classify vit-classify "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; '
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "-c", program, self.script, *words], capture_output=True, text=True, cwd=cwd,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"bash completion of {words}: {r.stderr.strip()}")
        return set(r.stdout.split())


class ZshCompletion:
    """The option specs of completions/_vit-classify, per command (its NAME_opts arrays)."""

    def __init__(self, path):
        self.text = open(path, encoding="utf-8").read()
        self.arrays = {m.group(1): m.group(2) for m in re.finditer(r"\n\s*(\w+)=\(\n(.*?)\n\s*\)", self.text, re.S)}
        self.formats = re.search(r"formats=\(([^)]*)\)", self.text)

    def commands(self):
        return re.findall(r"^\s*'([\w-]+):", self.arrays.get("commands", ""), re.M)

    def specs(self, command):
        name = (command or "classify") + "_opts"
        body = self.arrays.get(name, "")
        if "$model_opts" in body:
            body = self.arrays.get("model_opts", "") + "\n" + body
        if not command:
            body += "\n'(- *)--version[print the version and exit]'"
        if self.formats:
            body = body.replace("$formats", self.formats.group(1))
        return body.splitlines()

    def options(self, command):
        found = set()
        for spec in self.specs(command):
            # '(-m --model)'{-m+,--model=}'[...]' and '--preset=[...]': the names before the description.
            head = re.sub(r"^\s*'?\([^)]*\)", "", spec.strip()).split("[")[0]
            found.update(re.findall(r"(?<![\w-])(--?[\w][\w-]*)", head))
        return found

    def values(self, command, option):
        for spec in self.specs(command):
            head = re.sub(r"^\s*'?\([^)]*\)", "", spec.strip()).split("[")[0]
            if option in re.findall(r"(?<![\w-])(--?[\w][\w-]*)", head):
                m = re.search(r":\(([^()]*)\)['\"]?\s*$", spec)
                return set(m.group(1).replace("\\:", ":").split()) if m else set()
        return set()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, source_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    man_path = os.path.join(source_dir, "docs", "vit-classify.1")
    man = man_text(man_path)
    bash = BashCompletion(os.path.join(source_dir, "completions", "vit-classify.bash"))
    zsh = ZshCompletion(os.path.join(source_dir, "completions", "_vit-classify"))
    failures, notes = [], []
    generated = subprocess.run([os.path.join(source_dir, "scripts", "generate_docs.sh"), "--check", binary],
                               capture_output=True, text=True, timeout=120)
    if generated.returncode != 0:
        failures.append("generated docs are stale:\n" + generated.stderr.strip())
    if shutil.which("zsh"):
        r = subprocess.run(["zsh", "-n", os.path.join(source_dir, "completions", "_vit-classify")],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            failures.append(f"zsh completion: zsh -n says: {r.stderr.strip()}")
    workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"check_docs.{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    open(os.path.join(workdir, "cat-photo.png"), "w").close()

    main_help = run_help(binary, "--help")
    commands = [line.split()[0] for line in sections(main_help).get("Subcommands", []) if line.strip()]
    if not commands:
        failures.append("the main --help lists no subcommands")

    # Subcommand names: offered first, and after `help`.
    offered = bash.complete(["vit-classify", ""], workdir)
    offered_help = bash.complete(["vit-classify", "help", ""], workdir)
    for command in commands + ["help"]:
        if command not in offered:
            failures.append(f"bash completion: does not offer the command '{command}'")
        if command not in offered_help:
            failures.append(f"bash completion: does not offer '{command}' after 'help'")
        if command not in zsh.commands():
            failures.append(f"zsh completion: does not offer the command '{command}'")
        if not re.search(rf"^\.B {command}\b|^\.BR {command}\b", man_path and open(man_path).read(), re.M):
            failures.append(f"man page: no section or entry for the command '{command}'")
    for command in zsh.commands():
        if command not in commands + ["help"]:
            notes.append(f"the completions offer the command '{command}', which --help does not list (yet?)")
    if "cat-photo.png" not in offered:
        failures.append("bash completion: does not offer file names for images")

    checked_options = checked_values = 0
    for command in [""] + commands:
        label = command or "(top level)"
        help_text = main_help if not command else run_help(binary, "help", command)
        options = parse_options(help_text)
        words = ["vit-classify"] + ([command] if command else [])
        bash_options = bash.complete(words + ["-"], workdir)
        zsh_options = zsh.options(command)
        for names, values, takes_value in options:
            for name in names:
                checked_options += 1
                if not mentions(man, name):
                    failures.append(f"man page: {label}: option {name} is missing")
                if name not in bash_options:
                    failures.append(f"bash completion: {label}: option {name} is not offered")
                if name not in zsh_options:
                    failures.append(f"zsh completion: {label}: option {name} is missing")
            long = next((n for n in names if n.startswith("--")), names[0])
            if takes_value and not values:
                values = vocabulary_values(source_dir, long)
            if not values:
                continue
            bash_values = bash.complete(words + [long, ""], workdir)
            zsh_values = zsh.values(command, long)
            for value in values:
                checked_values += 1
                if value not in bash_values:
                    failures.append(f"bash completion: {label}: {long} value '{value}' is not offered")
                if value not in zsh_values:
                    failures.append(f"zsh completion: {label}: {long} value '{value}' is missing")
            for value in sorted(bash_values - set(values)):
                if not re.fullmatch(r"cuda:\d+|\d+(x\d+)?|none", value):
                    notes.append(f"bash completion: {label}: {long} offers '{value}', which --help does not list")
        helped = {n for names, _, _ in options for n in names}
        for name in sorted(set(zsh_options) - helped):
            where = f"help {command}" if command else "--help"
            notes.append(f"completions: {label}: {name} is not in `{where}` (yet?)")

    # The exit status table and the environment.
    man_exit = man.split(".SH EXIT STATUS", 1)[-1].split(".SH", 1)[0]
    for line in sections(main_help).get("Exit status", []):
        m = re.match(r"\s+(\d+)\s", line)
        if m and not re.search(rf"^\.B {m.group(1)}$", man_exit, re.M):
            failures.append(f"man page: EXIT STATUS lacks {m.group(1)} ({line.strip()})")
    man_env = man.split(".SH ENVIRONMENT", 1)[-1].split(".SH", 1)[0]
    for variable in ENVIRONMENT:
        if not re.search(rf"^\.B {variable}$", man_env, re.M):
            failures.append(f"man page: ENVIRONMENT lacks {variable}")
    for heading in ("EXAMPLES", "FILES", "EXIT STATUS", "ENVIRONMENT"):
        if f".SH {heading}" not in man:
            failures.append(f"man page: no {heading} section")
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings", "-l", man_path], capture_output=True, text=True,
                           env={**os.environ, "MANWIDTH": "80"})
        if r.returncode != 0 or r.stderr.strip():
            failures.append(f"man page: man --warnings says: {r.stderr.strip()}")
    shutil.rmtree(workdir, ignore_errors=True)

    for note in notes:
        print(f"check_docs: note: {note}")
    for failure in failures:
        print(f"check_docs: FAIL: {failure}")
    print(f"check_docs: {len(commands)} commands ({', '.join(commands)}), {checked_options} option names and "
          f"{checked_values} values checked; bash completion run "
          f"{'with bash-completion' if bash.loader else 'without bash-completion'}: "
          f"{'FAILED' if failures else 'OK'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

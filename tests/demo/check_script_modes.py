"""Every command the README and docs/ tell a user to type as a path
(`scripts/demo.sh`, `.ci/run`, ...) must run as typed: the file exists and is
executable, both in the checkout and in git's index (a mode lost in a commit
reaches every fresh clone). Commands run through an interpreter
(`bash x.sh`, `python3 x.py`) are not held to this."""
import os
import re
import subprocess
import sys

# A path in command position: at the start of a line of a shell block or of
# inline code, or after `&&`, `;`, `|`, `(`, `$ `.
COMMAND = re.compile(r"(?:^|[`;&|(]\s*|\$ )((?:\./)?(?:scripts|\.ci|bench|deploy)/[\w./-]+)")


def code_lines(text):
    """Yields (code, inline) for each line of a fenced block and each inline span."""
    in_block = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            yield line.strip(), False
        else:
            yield from (("`" + span, True) for span in re.findall(r"`([^`]+)`", line))


def commands_in(path):
    with open(path, encoding="utf-8") as f:
        for code, inline in code_lines(f.read()):
            for match in COMMAND.finditer(code):
                command = match.group(1).removeprefix("./")
                # Inline code also names files in prose (`bench/fit/scipy_peer.py`):
                # there only an entry script or a path given arguments is a command.
                takes_args = code[match.end():].startswith(" ")
                if inline and not (takes_args or command.startswith(("scripts/", ".ci/"))):
                    continue
                yield command


def git_modes(root):
    if not os.path.isdir(os.path.join(root, ".git")) and not os.path.isfile(os.path.join(root, ".git")):
        return None  # not a git checkout (e.g. a source tarball): the work tree is all there is
    out = subprocess.run(["git", "-C", root, "ls-files", "-s"], capture_output=True, text=True, check=True)
    return {line.split("\t", 1)[1]: line.split()[0] for line in out.stdout.splitlines()}


def main(root):
    docs = [os.path.join(root, "README.md")]
    docs_dir = os.path.join(root, "docs")
    docs += sorted(os.path.join(docs_dir, n) for n in os.listdir(docs_dir) if n.endswith(".md"))
    wanted = {}
    for doc in docs:
        for command in commands_in(doc):
            wanted.setdefault(command, os.path.relpath(doc, root))
    # The entry points themselves, mentioned or not.
    for name in os.listdir(os.path.join(root, "scripts")):
        wanted.setdefault(f"scripts/{name}", "scripts/")
    wanted.setdefault(".ci/run", ".ci/")
    modes = git_modes(root)
    problems = []
    for command, where in sorted(wanted.items()):
        path = os.path.join(root, command)
        if not os.path.isfile(path):
            if os.path.isdir(path):
                continue  # a folder named in prose, not a command
            problems.append(f"{where}: `{command}` does not exist")
            continue
        if not os.access(path, os.X_OK):
            problems.append(f"{where}: `{command}` is not executable in the checkout")
        if modes is not None and modes.get(command) != "100755":
            problems.append(f"{where}: `{command}` has mode {modes.get(command, 'untracked')} in git's index, not 100755")
    for p in problems:
        print(p)
    print(f"checked {len(wanted)} commands named in README.md, docs/, scripts/ and .ci/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

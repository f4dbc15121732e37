"""What the README and docs/ say stays true of this repository: no line names a path outside it (a
clone has only what is in it), every repository path they cite exists, and every command in the
README's code blocks is at least parsed: `preflight …` by the CLI's own parser (running nothing),
pytest's arguments (plain `pytest` lines and what `preflight run` passes after `--`) by pytest's
own, `make X` against the Makefile's targets."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A path that leaves the repository: up from it (../shared/contract.md), or a machine's own folders.
OUTSIDE = re.compile(r"(?<![\w.])\.\./|(?<![\w:/.])(?:/work|/home|/Users|/root|/farm|~)/")
# A path this repository holds, as the docs cite it in backticks (not a pattern, not generated).
CITED = re.compile(r"`((?:src|docs|config|tests|suites|bench|fixtures)/[^`\s]*)`")
BLOCK = re.compile(r"^```(sh|bash)\n(.*?)^```", re.M | re.S)
SUBSTITUTION = re.compile(r"\$\((.*)\)")
# pytest's own argument parser, plugins and ini included, for each argument list; no session runs.
PYTEST_PARSE = """
import json, sys
from _pytest.config import UsageError, _prepareconfig
bad = []
for args in json.loads(sys.argv[1]):
    try:
        _prepareconfig(list(args))._ensure_unconfigure()
    except (UsageError, SystemExit) as exc:
        bad.append(f"pytest {' '.join(args)}: {str(exc).strip().splitlines()[-3:]}")
print(json.dumps(bad))
"""


def code_lines(text: str) -> list[str]:
    """Every command line of the text's sh code blocks, trailing comments and all."""
    lines = []
    for _, body in BLOCK.findall(text):
        lines += [line.strip() for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines


def command_of(line: str) -> list[str]:
    """The words of a line's command: the inner command of `export X=$(…)`, its comment left out."""
    inner = SUBSTITUTION.search(line)
    return shlex.split(inner.group(1) if inner else line, comments=True)


def test_no_readme_or_docs_line_names_a_path_outside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in DOCS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)
    assert (ROOT / "docs" / "contract.md").is_file()  # the API the harness checks, the project's own copy


def test_the_outside_path_check_catches_what_it_is_for():
    assert OUTSIDE.search("implements `../shared/contract.md`") and OUTSIDE.search("see /work/shared/guide/")
    assert OUTSIDE.search("cp ~/notes.md .") and OUTSIDE.search("(/home/me/x)")
    assert not OUTSIDE.search("`docs/contract.md`, https://ai.10x.in/v2/x, --db /tmp/sandbox.db, a … b")


def test_every_repository_path_the_docs_cite_exists():
    missing = []
    for path in DOCS:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for cited in CITED.findall(line):
                if not any(mark in cited for mark in "<*…{") and not (ROOT / cited.split("::")[0]).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{n}: {cited}")
    assert not missing, "\n".join(missing)


def test_every_preflight_command_in_the_readme_is_parsed_by_the_cli():
    parser, bad, pytest_args = build_parser(), [], []
    commands = [command_of(line) for line in code_lines((ROOT / "README.md").read_text())]
    preflight = [words for words in commands if words[0].endswith("preflight")]
    assert len(preflight) >= 30, preflight  # the blocks were read
    for words in preflight:
        try:
            args = parser.parse_args(words[1:])
        except SystemExit:
            bad.append(" ".join(words))
            continue
        extra = list(getattr(args, "pytest_args", None) or [])
        if extra:
            pytest_args.append(["suites", *extra[1:]] if extra[0] == "--" else ["suites", *extra])
    assert not bad, f"the CLI refuses these README commands: {bad}"
    assert ["suites", "-k", "spring-ab"] in pytest_args, pytest_args


def test_every_pytest_argument_in_the_readme_is_parsed_by_pytest():
    commands = [command_of(line) for line in code_lines((ROOT / "README.md").read_text())]
    plain = [words[1:] for words in commands if words[0].endswith("pytest")]
    passed = [words[words.index("--") + 1 :] for words in commands if words[0].endswith("preflight") and "--" in words]
    selections = plain + [["suites", *args] for args in passed]
    assert len(plain) >= 2 and passed, commands
    assert parse_with_pytest(selections) == []
    assert parse_with_pytest([["suites", "--shard"]]) != []  # a bad one is caught


def parse_with_pytest(argument_lists: list[list[str]]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PYTEST_PARSE, json.dumps(argument_lists)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_other_readme_command_is_one_the_readme_means():
    """make targets exist; the rest is the rehearsal's shell (walked by tests/harness/test_rehearsal.py)
    or an example; a new kind of command here must get a check of its own."""
    makefile = (ROOT / "Makefile").read_text()
    other = []
    for words in (command_of(line) for line in code_lines((ROOT / "README.md").read_text())):
        if words[0] == "make":
            assert re.search(rf"^{re.escape(words[1])}:", makefile, re.M), f"make {words[1]}: no such target"
        elif not (words[0].endswith(("preflight", "pytest")) or words[0] in ("export", "sed", "curl")):
            other.append(" ".join(words))
    assert not other, f"README commands no test parses: {other}"


@pytest.mark.parametrize("line", ["preflight run --no-such-option", "preflight sandbox token xyz --url u"])
def test_a_command_the_cli_refuses_is_caught(line):
    with pytest.raises(SystemExit):
        build_parser().parse_args(shlex.split(line)[1:])

"""Break the code on purpose and watch the tests that guard it fail.

`tests/mutants.yaml` lists one-line mutants: a file, a string in it (which must occur exactly
once), what to put in its place, and the tests that must fail with the mutant in place. For each
mutant this applies it, runs those tests, and restores the file (also on an interrupt):

    .venv/bin/python -m tests.mutants                 # every mutant
    .venv/bin/python -m tests.mutants M03 M07         # some
    .venv/bin/python -m tests.mutants --root /tmp/wt  # in another checkout (a git worktree)

A mutant is *killed* when the tests fail (pytest exit code 1); it *survives* when they pass, and
an exit code other than 0 or 1 (a collection error, no test selected), or a failure while setting
a test up (a fixture), is reported as an error: the promise's own assertion has to fail. Each line
shows pytest's reason.
The exit status is 0 only when every mutant was killed. `tests/CLAIMS.md` maps the README's
promises to these mutants.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def load(path: Path = HERE / "mutants.yaml") -> list[dict]:
    mutants = yaml.safe_load(path.read_text())
    ids = [m["id"] for m in mutants]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise SystemExit(f"{path}: mutant ids used twice: {duplicated}")
    return mutants


def apply(root: Path, mutant: dict) -> str:
    """Put the mutant in place; returns the file's original text."""
    path = root / mutant["file"]
    text = path.read_text()
    found = text.count(mutant["old"])
    if found != 1:
        raise SystemExit(
            f"{mutant['id']}: {mutant['file']} holds the string {found} times, not once: {mutant['old']!r}"
        )
    path.write_text(text.replace(mutant["old"], mutant["new"]))
    return text


def run(root: Path, mutant: dict, timeout_s: float) -> tuple[str, float, str]:
    original = apply(root, mutant)
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    tests = mutant["test"] if isinstance(mutant["test"], list) else [mutant["test"]]
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", "-o", "addopts=", *tests]
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s)
        lines = (result.stdout + result.stderr).strip().splitlines()
        # What failed and why (pytest's short summary), else the last line.
        code, tail = (
            result.returncode,
            [line for line in lines if line.startswith(("FAILED", "ERROR"))][:1] or lines[-1:],
        )
    except subprocess.TimeoutExpired:
        code, tail = -1, ["timed out"]
    finally:
        (root / mutant["file"]).write_text(original)
    verdict = {1: "killed", 0: "SURVIVED"}.get(code, f"ERROR (pytest exit {code})")
    if verdict == "killed" and tail and tail[0].startswith("ERROR"):
        verdict = "ERROR (set-up)"  # the tests could not even set up: not the promise's assertion failing
    return verdict, time.monotonic() - started, tail[0] if tail else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="mutant ids (default: all)")
    parser.add_argument("--root", type=Path, default=HERE.parent, help="the checkout to mutate (default: this one)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per mutant")
    args = parser.parse_args(argv)
    mutants = load(args.root / "tests" / "mutants.yaml")
    unknown = set(args.ids) - {m["id"] for m in mutants}
    if unknown:
        raise SystemExit(f"unknown mutant ids: {sorted(unknown)}")
    chosen = [m for m in mutants if not args.ids or m["id"] in args.ids]
    failures = 0
    for mutant in chosen:
        verdict, seconds, tail = run(args.root, mutant, args.timeout)
        failures += verdict != "killed"
        print(f"{mutant['id']}  {verdict:<10} {seconds:6.1f}s  {mutant['file']}  | {tail}", flush=True)
    print(f"{len(chosen) - failures} of {len(chosen)} mutants killed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

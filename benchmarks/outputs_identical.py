"""Compare the results/ of two runs of the workflow file by file: `python benchmarks/outputs_identical.py A B`.

Prints each file whose bytes differ, with the JSON keys that differ for JSON files, and the count of
identical files. Used to check that a refactoring leaves the outputs byte-identical (issue 17): run
`snakemake all --configfile tests/integration/config.yaml` in a worktree of each commit, then compare.
Files that record when or where a run happened (timings, ports, the git commit, evalplus's date,
pickled training arguments with absolute paths) differ between any two runs and are listed as such.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def flat(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flat(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def main(first: str, second: str) -> int:
    a, b = Path(first) / "results", Path(second) / "results"
    names = sorted(
        {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
        | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    )
    same = 0
    for name in names:
        left, right = a / name, b / name
        if not left.exists() or not right.exists():
            print(f"only in {'B' if not left.exists() else 'A'}: {name}")
            continue
        if hashlib.sha256(left.read_bytes()).digest() == hashlib.sha256(right.read_bytes()).digest():
            same += 1
            continue
        detail = ""
        if name.suffix == ".json":
            x, y = dict(flat(json.loads(left.read_text()))), dict(flat(json.loads(right.read_text())))
            detail = ": " + ", ".join(sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k)))[:300]
        print(f"differs: {name}{detail}")
    print(f"{same} of {len(names)} files byte-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

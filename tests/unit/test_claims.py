"""tests/CLAIMS.md and tests/mutants.yaml stay true as the code changes: every mutant still applies
(its string occurs exactly once in its file), names tests that exist, and is listed in CLAIMS.md."""

import re
from pathlib import Path

from ..mutants import load

ROOT = Path(__file__).resolve().parents[2]


def test_every_mutant_applies_and_names_existing_tests():
    for mutant in load(ROOT / "tests" / "mutants.yaml"):
        text = (ROOT / mutant["file"]).read_text()
        assert text.count(mutant["old"]) == 1, (
            f"{mutant['id']}: {mutant['file']} no longer holds {mutant['old']!r} once"
        )
        assert mutant["new"] != mutant["old"], mutant["id"]
        tests = mutant["test"] if isinstance(mutant["test"], list) else [mutant["test"]]
        for node in tests:
            path, _, name = node.partition("::")
            function = name.split("[")[0]
            assert re.search(rf"^def {function}\(", (ROOT / path).read_text(), re.M), f"{mutant['id']}: no test {node}"


def test_claims_md_lists_every_mutant_and_only_those():
    listed = set(re.findall(r"\bM\d{2,3}\b", (ROOT / "tests" / "CLAIMS.md").read_text()))
    defined = {mutant["id"] for mutant in load(ROOT / "tests" / "mutants.yaml")}
    assert listed == defined, f"missing from CLAIMS.md: {sorted(defined - listed)}; unknown: {sorted(listed - defined)}"

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATHS = ["src", "tests", "scripts", "benchmarks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), *command, *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt():
    """The workflow's files as snakefmt (pinned in the test extra, configured in pyproject.toml) writes them."""
    snakefmt = Path(sys.executable).with_name("snakefmt")
    result = subprocess.run([str(snakefmt), "--check", "Snakefile", "rules"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""With CI=true, a test that cannot run its real component fails; elsewhere it skips and says why."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = """
import pytest
from tests.conftest import require

def test_needs_a_missing_component():
    require("`slurmctld` not found", "SLURM")

def test_skips_on_its_own():
    pytest.skip("no reason that CI accepts")

def test_swift_is_never_installable():
    pytest.skip("swift: `swiftc` not found (Debian has no Swift, so scripts/setup.sh cannot install it)")
"""


def run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(tmp_path / "test_sample.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )


def test_in_ci_a_skip_is_a_failure_except_what_setup_cannot_install(tmp_path):
    result = run(tmp_path, "true")
    assert "2 failed, 1 skipped" in result.stdout, result.stdout
    assert "SLURM: `slurmctld` not found (CI=true" in result.stdout


def test_outside_ci_it_skips_and_says_why(tmp_path):
    result = run(tmp_path, None)
    assert "3 skipped" in result.stdout, result.stdout
    assert "SLURM: `slurmctld` not found" in result.stdout

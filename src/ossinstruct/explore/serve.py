"""`ossinstruct explore`: Datasette on the explorer's databases (`results/explore/*.db`), on 127.0.0.1.

The metadata (column descriptions, facets, canned queries) is written beside the databases as
`metadata.json` and the links between databases come from our plugin (`plugins/`); the databases are
opened read-only (`--immutable`). The same server by hand:

    datasette serve --immutable results/explore/<teacher>.db --immutable results/explore/eval.db \\
        --metadata results/explore/metadata.json --plugins-dir <ossinstruct>/explore/plugins \\
        --template-dir <ossinstruct>/explore/templates
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..io import DataError
from .metadata import explorer_metadata

PLUGINS = Path(__file__).with_name("plugins")
TEMPLATES = Path(__file__).with_name("templates")  # the row page: one column per line
READY_S = 60


def command(folder: str | Path, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The Datasette command for the databases in `folder`; writes their metadata there."""
    folder = Path(folder)
    databases = sorted(folder.glob("*.db"))
    if not databases:
        raise DataError(
            f"{folder}: no explorer databases. Build them first: "
            "snakemake results/explore/<teacher>.db results/explore/eval.db (both are part of `snakemake`)"
        )
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(explorer_metadata([path.stem for path in databases]), indent=2) + "\n")
    opened = [argument for path in databases for argument in ("--immutable", str(path))]
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        *opened,
        "--metadata",
        str(metadata),
        "--plugins-dir",
        str(PLUGINS),
        "--template-dir",
        str(TEMPLATES),
        "--host",
        host,
        "--port",
        str(port),
        "--setting",
        "sql_time_limit_ms",
        "10000",
        "--setting",
        "default_page_size",
        "50",
    ]


def listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def start(folder: str | Path, host: str = "127.0.0.1", port: int = 8001) -> tuple[subprocess.Popen, str]:
    """Datasette running on the databases; returns (the process, its URL) once it answers."""
    if listening(host, port):
        raise DataError(f"port {port} on {host} is in use: choose another with --port")
    process = subprocess.Popen(command(folder, host, port))
    deadline = time.monotonic() + READY_S
    while not listening(host, port):
        if process.poll() is not None:
            raise DataError(f"datasette exited with code {process.returncode} (see its messages above)")
        if time.monotonic() > deadline:
            process.kill()
            raise DataError(f"datasette did not answer on {host}:{port} within {READY_S} s")
        time.sleep(0.2)
    return process, f"http://{host}:{port}/"


def serve(*, folder: str = "results/explore", host: str = "127.0.0.1", port: int = 8001) -> int:
    """Start the explorer, print its URL, and run until interrupted (Ctrl+C or SIGTERM stop Datasette too)."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    process, url = start(folder, host, port)
    print(f"ossinstruct explorer: {url}  (Ctrl+C stops it)", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

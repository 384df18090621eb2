"""The rehearsal's second half, run inside a network namespace of its own (`bwrap --unshare-net`:
loopback only): the two teachers' local servers in this process, then Snakemake. Writes what the
servers answered to `answered.json` in the project and exits with Snakemake's status.

    bwrap --dev-bind / / --unshare-net --die-with-parent python -m tests.rehearsal.offline PROJECT SNAKEMAKE-ARGS...
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ..openai_server import OpenAIServer


def main(argv: list[str]) -> int:
    project, command = Path(argv[0]), argv[1:]
    env = {**os.environ, "OPENAI_API_KEY": "sk-rehearsal"}
    with OpenAIServer(port=18471) as gpt, OpenAIServer(port=18472, system_role=False) as mixtral:
        run = subprocess.run(command, cwd=project, env=env)
        answered = {"gpt": sum(gpt.answered.values()), "mixtral": sum(mixtral.answered.values())}
    answered["interfaces"] = sorted(name for _, name in socket.if_nameindex())  # loopback only
    (project / "answered.json").write_text(json.dumps(answered))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The sandbox every piece of model-generated code runs in, proved by trying each escape.

Each attempt is a Python pair whose tests pass only if the escape works: reach a listener on the
host's loopback, write into the host's /tmp, read a secret the validator holds, allocate past the
memory limit, fork past the process limit, print gigabytes, kill its parent, spin forever. Each
must fail, the validator must finish the honest rows between them, and nothing may be left behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ossinstruct.sandbox import DEFAULTS, Limits, Sandbox, SandboxError, isolation_problem
from ossinstruct.validate import validate_rows

from ..conftest import IN_CI, Listener

# Elsewhere than CI (where scripts/setup.sh installs bubblewrap and a missing sandbox must fail), a
# machine without one skips, saying why.
pytestmark = pytest.mark.skipif(
    bool(isolation_problem()) and not IN_CI, reason=f"no sandbox here: {isolation_problem()}"
)
LIMITS = {"timeout_s": 4, "memory_mb": 512, "processes": 32, "output_bytes": 1 << 20}


def pair(solution: str, tests: str, name: str) -> dict:
    return {"id": name, "lang": "python", "problem": name, "solution": solution, "tests": tests}


def honest(i: int) -> dict:
    return pair(f"def f():\n    return {i}\n", f"def test_f():\n    assert f() == {i}\n", f"honest-{i}")


def sandbox_leftovers() -> list[str]:
    return sorted(p.name for p in Path(tempfile.gettempdir()).glob("ossinstruct-sandbox-*"))


def processes_of(uids: range, marker: str) -> list[int]:
    """Processes run as a sandbox user, or whose command line holds `marker`."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        uid = int(next(line for line in text.splitlines() if line.startswith("Uid:")).split()[1])
        if (uid in uids and os.geteuid() == 0) or marker.encode() in cmdline:
            found.append(int(status.parent.name))
    return found


def test_every_escape_fails_and_every_other_row_is_validated(monkeypatch):
    marker = f"ossinstruct-escape-{secrets.token_hex(6)}"
    secret = secrets.token_hex(12)
    monkeypatch.setenv("OSSINSTRUCT_TEST_SECRET", secret)
    before = sandbox_leftovers()
    host_file = Path("/tmp") / marker
    with Listener() as listener:
        escapes = {
            "loopback": pair(
                "import socket\n",
                f"def test_reach():\n    socket.create_connection(('127.0.0.1', {listener.port}), 2).close()\n",
                "loopback",
            ),
            "host-tmp": pair(
                f"open('/tmp/{marker}', 'w').write('x')\n", f"assert open('/tmp/{marker}').read() == 'x'\n", "host-tmp"
            ),
            "secret": pair(
                "import os\nSEEN = os.environ.get('OSSINSTRUCT_TEST_SECRET', '')\n"
                "for pid in os.listdir('/proc'):\n"
                "    try:\n        SEEN += open(f'/proc/{pid}/environ').read()\n    except Exception:\n        pass\n",
                f"assert '{secret}' in SEEN\n",
                "secret",
            ),
            "memory": pair("BLOCK = bytearray(2 << 30)\n", "assert len(BLOCK) == 2 << 30\n", "memory"),
            "fork": pair(
                "import os, time\nCHILDREN = 0\nfor _ in range(200):\n    if os.fork() == 0:\n"
                "        time.sleep(60)\n        os._exit(0)\n    CHILDREN += 1\n",
                "assert CHILDREN == 200\n",
                "fork",
            ),
            "print": pair(
                "import sys\nfor _ in range(4096):\n    sys.stdout.write('x' * (1 << 20))\nsys.stdout.flush()\n",
                "assert True\n",
                "print",
            ),
            "kill-parent": pair(
                f"import os, signal\nfor pid in (os.getppid(), 1, {os.getpid()}):\n    os.kill(pid, signal.SIGKILL)\n",
                "assert True\n",
                "kill-parent",
            ),
            "spin": pair("while True:\n    pass\n", "assert True\n", "spin"),
            "daemon": pair(
                f"import os, subprocess\nsubprocess.Popen(['sleep', '600', '{marker}'], start_new_session=True)\n"
                "os._exit(0)\n",
                "assert True\n",
                "daemon",
            ),
        }
        rows = [row for i, escape in enumerate(escapes.values()) for row in (escape, honest(i))]
        started = time.monotonic()
        kept, excluded, report = validate_rows(rows, LIMITS, Sandbox("escape attempts", slots=2), threads=2)
        elapsed = time.monotonic() - started
    verdicts = {row["id"]: row["reason"] for row in excluded}
    assert sorted(row["id"] for row in kept) == sorted(f"honest-{i}" for i in range(len(escapes)))
    assert set(verdicts) == set(escapes), verdicts
    assert listener.accepted == 0
    assert not host_file.exists()
    assert verdicts["spin"] == "timeout" and verdicts["memory"] == "error"
    assert verdicts["daemon"] == "error"  # exited before its tests ran: no verdict
    printed = next(row for row in excluded if row["id"] == "print")
    assert len(printed["output"]) <= 2000 and verdicts["print"] in ("error", "failed")
    assert report["by_verdict"]["passed"] == len(escapes) and elapsed < 60
    time.sleep(0.5)
    stray = processes_of(range(DEFAULTS["first_uid"], DEFAULTS["first_uid"] + 2), marker)
    for pid in stray:  # leave nothing behind, even when the test fails
        os.kill(pid, 9)
    assert stray == []
    assert sandbox_leftovers() == before


def test_only_its_own_folder_is_writable_and_the_hosts_tmp_and_home_are_not_there(tmp_path):
    token = secrets.token_hex(6)
    in_tmp = Path(tempfile.gettempdir()) / f"ossinstruct-probe-{token}"
    in_home = Path.home() / f".ossinstruct-probe-{token}"
    probes = (tmp_path / "host-file", in_tmp, in_home)
    code = (
        "import os\n"
        f"for path in ('/usr/x', '/etc/x', '/x', {str(Path(sys.prefix) / 'x')!r}, {str(tmp_path / 'y')!r}):\n"
        "    try:\n        open(path, 'w')\n        print('WROTE', path)\n    except OSError:\n        pass\n"
        f"print('SEES', *(os.path.exists(p) for p in {[str(p) for p in probes]!r}))\n"
        "open('mine', 'w').write('ok')\nprint('OWN', open('mine').read(), os.getcwd(), os.environ['HOME'])\n"
    )
    try:
        for probe in probes:
            probe.write_text("host")
        outcome = Sandbox("a probe").run([sys.executable, "-c", code], limits=Limits(timeout_s=20), collect=("mine",))
    finally:
        for probe in probes:
            probe.unlink(missing_ok=True)
    assert outcome.status == "exited" and outcome.returncode == 0, outcome.output
    assert "WROTE" not in outcome.output
    assert "SEES False False False" in outcome.output and "OWN ok /sandbox /sandbox" in outcome.output
    assert outcome.files == {"mine": b"ok"}
    assert not (tmp_path / "y").exists()


def test_the_environment_holds_only_what_the_run_needs(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-generated-code")
    code = "import os, json\nprint(json.dumps(sorted(os.environ)))"
    outcome = Sandbox("a probe").run([sys.executable, "-c", code], limits=Limits(), env={"EXTRA": "1"})
    assert outcome.output.strip() == '["EXTRA", "HOME", "LANG", "PATH", "PWD", "TMPDIR"]'


def test_as_root_the_code_runs_as_a_user_of_its_own():
    if os.geteuid() != 0:
        pytest.skip("not root: bubblewrap maps this user into a user namespace of its own")
    code = "import os\nprint(os.getuid(), os.getgid(), os.getgroups())\ntry:\n    open('/etc/shadow').read()\n"
    code += "    print('READ')\nexcept OSError:\n    print('DENIED')\n"
    outcome = Sandbox("a probe").run([sys.executable, "-c", code], limits=Limits())
    assert outcome.output.split("\n")[:2] == [f"{DEFAULTS['first_uid']} {DEFAULTS['first_uid']} []", "DENIED"]


def test_without_bubblewrap_it_refuses_naming_the_missing_piece_and_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `bwrap` to be found
    with pytest.raises(
        SandboxError, match=r"bubblewrap \(`bwrap`\) is not installed.*sandbox.require_isolation: false"
    ):
        Sandbox("model-generated code")


def test_without_isolation_it_runs_only_when_the_setting_says_so(monkeypatch, tmp_path, caplog):
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "prlimit").symlink_to(shutil.which("prlimit"))  # limits still apply; bubblewrap is absent
    monkeypatch.setenv("PATH", str(tools))
    sandbox = Sandbox("model-generated code", {"require_isolation": False})
    assert "WITHOUT isolation" in caplog.text and sandbox.describe().startswith("none")
    started = time.monotonic()
    outcome = sandbox.run([sys.executable, "-c", "while True: pass"], limits=Limits(timeout_s=60, cpu_s=1))
    assert outcome.status == "timeout" and time.monotonic() - started < 10  # the CPU limit, not the wall clock

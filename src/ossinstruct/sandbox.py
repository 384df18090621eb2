"""One sandbox for all model-generated code: execution validation, EvalPlus and MultiPL-E.

Built on bubblewrap (Debian's `bubblewrap`), the tool Flatpak runs untrusted applications in, and
util-linux's `setpriv` and `prlimit`; nothing hand-rolled. Each run gets
- its own network namespace (no network, not even the host's loopback services), PID, IPC and UTS
  namespaces, and dies with its parent;
- a root file system holding only the system's programs and libraries (`/usr`, `/etc`, `/opt`),
  the Python in use and the paths named in `sandbox.read_only`, all read-only; the host's `/tmp`,
  home folders and `/run` are not there;
- one fresh writable folder, `/sandbox` (its working directory, HOME and TMPDIR), and a small
  private `/dev/shm`; the folder is deleted after the run;
- an environment with nothing but PATH, HOME, TMPDIR, LANG and what the caller names (no secrets);
- CPU-time, address-space, process-count and output-size limits (`prlimit`), and a wall-clock
  timeout that kills the whole process group (the PID namespace takes every process with it);
- when run as root, a user of its own (`sandbox.first_uid` + slot), so that it can read no file
  only root may read and its process limit counts its own processes alone.
Where bubblewrap is unavailable the run refuses with `SandboxError`, naming what is missing and the
setting (`sandbox.require_isolation: false`) that runs it without isolation (limits, a clean
environment and a fresh folder still apply; the choice is logged and recorded).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

INSIDE = "/sandbox"  # the writable folder, as the code sees it
DEFAULTS = {"require_isolation": True, "read_only": [], "first_uid": 200000, "shm_bytes": 64 << 20}
OVERRIDE = "sandbox.require_isolation: false"
PATH = "/usr/local/bin:/usr/bin:/bin"


class SandboxError(RuntimeError):
    """Isolation for model-generated code is unavailable, and the run refuses."""


@dataclass(frozen=True)
class Limits:
    """What one run may use: wall-clock and CPU seconds, address space, processes (of its user), the
    largest file it writes (its output included)."""

    timeout_s: float = 10.0
    cpu_s: int | None = None  # None: the wall-clock timeout, rounded up, plus one second
    memory_bytes: int | None = 1 << 30  # None: no address-space limit (runtimes that reserve more)
    processes: int = 64
    output_bytes: int = 1 << 20


@dataclass(frozen=True)
class Outcome:
    status: str  # exited, timeout (wall clock or CPU time), killed (another signal, e.g. out of memory)
    returncode: int | None
    output: str  # the tail of stdout and stderr together
    files: dict[str, bytes]  # the files asked back from the folder


def _system_binds() -> list[str]:
    """The read-only system: /usr, /etc, /opt, and /bin, /lib, ... as the host has them."""
    args: list[str] = []
    for name in ("usr", "etc", "opt"):
        if Path("/", name).is_dir():
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    return args


def _python_paths() -> list[str]:
    """This Python's installation and environment (a virtual environment points at its base)."""
    paths = {sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}
    paths.add(str(Path(__file__).resolve().parent.parent))  # ossinstruct itself (an editable install's source)
    return sorted(p for p in paths if not p.startswith(("/usr/", "/etc/", "/opt/")) and p != "/usr")


@functools.cache
def _probe(bwrap: str, as_root: bool) -> str | None:
    """Why bubblewrap cannot start a sandbox here, or None when it can."""
    command = [bwrap, *_system_binds(), "--unshare-net", "--unshare-pid", "--die-with-parent", "--", "true"]
    if not as_root:
        command.insert(1, "--unshare-user")
    try:
        probe = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return None if probe.returncode == 0 else (probe.stderr.strip() or f"exit code {probe.returncode}")


def isolation_problem() -> str | None:
    """What is missing for the sandbox on this machine (None: nothing)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (`bwrap`) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        return "`setpriv` (util-linux) is not installed, and code must not run as root"
    problem = _probe(bwrap, as_root)
    if problem:
        hint = "" if as_root else " (unprivileged user namespaces must be enabled)"
        return f"bubblewrap cannot create the namespaces{hint}: {problem}"
    if shutil.which("prlimit") is None:
        return "`prlimit` (util-linux) is not installed"
    return None


class Sandbox:
    """Runs commands on model-generated code, each in a fresh sandbox; safe to share between threads
    (`slots` runs at once, each with a user of its own when run as root)."""

    def __init__(
        self,
        what: str,
        settings: dict | None = None,
        slots: int = 1,
        read_only: tuple[str, ...] = (),
        path: tuple[str, ...] = (),
    ):
        self.settings = {**DEFAULTS, **(settings or {})}
        problem = isolation_problem()
        if problem and self.settings["require_isolation"]:
            raise SandboxError(f"cannot run {what}: {problem}; set {OVERRIDE} to run it without isolation")
        if problem:
            log.warning("running %s WITHOUT isolation (%s): %s", what, OVERRIDE, problem)
        self.isolated = problem is None
        self.as_root = os.geteuid() == 0
        self.read_only = [*_python_paths(), *self.settings["read_only"], *read_only]
        self.path = ":".join([*path, PATH])
        self.slots: queue.Queue[int] = queue.Queue()
        for slot in range(max(1, slots)):
            self.slots.put(slot)

    def describe(self) -> str:
        return "bubblewrap" if self.isolated else "none (sandbox.require_isolation: false)"

    def _command(self, command: list[str], limits: Limits, uid: int | None, folder: Path, env: dict) -> list[str]:
        cpu = limits.cpu_s or math.ceil(limits.timeout_s) + 1
        prlimit = ["prlimit", f"--cpu={cpu}:{cpu + 1}", f"--nproc={limits.processes}", "--core=0"]
        prlimit += [f"--fsize={limits.output_bytes}"]
        if limits.memory_bytes:
            prlimit.append(f"--as={limits.memory_bytes}")
        inner = [*prlimit, "--", *command]
        if not self.isolated:
            return inner
        bwrap = ["bwrap", *_system_binds()]
        made = {"/usr", "/etc", "/opt"}
        for path in self.read_only:
            if Path(path).exists():
                for parent in reversed(Path(path).parents[:-1]):  # traversable, not 0700 as bwrap makes them
                    if str(parent) not in made:
                        bwrap += ["--perms", "0755", "--dir", str(parent)]
                        made.add(str(parent))
                bwrap += ["--ro-bind", path, path]
        bwrap += ["--bind", str(folder), INSIDE, "--dev", "/dev", "--proc", "/proc"]
        bwrap += ["--perms", "1777", "--size", str(self.settings["shm_bytes"]), "--tmpfs", "/dev/shm"]
        bwrap += ["--remount-ro", "/", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        bwrap += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--chdir", INSIDE, "--clearenv"]
        for key, value in env.items():
            bwrap += ["--setenv", key, value]
        if uid is None:  # an unprivileged user: bubblewrap maps it into a user namespace of its own
            return [*bwrap, "--unshare-user", "--", *inner]
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
        return [*bwrap, "--", *drop, "--bounding-set=-all", "--no-new-privs", "--", *inner]

    def run(
        self,
        command: list[str],
        *,
        limits: Limits,
        files: dict[str, str | bytes] | None = None,
        collect: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> Outcome:
        """`command` in a fresh sandbox whose folder holds `files`; returns its outcome and the files
        named in `collect` (those it left, each at most `limits.output_bytes`)."""
        slot = self.slots.get()
        try:
            return self._run(command, limits, files or {}, collect, env or {}, slot)
        finally:
            self.slots.put(slot)

    def _run(self, command, limits, files, collect, env, slot) -> Outcome:
        uid = self.settings["first_uid"] + slot if self.isolated and self.as_root else None
        with tempfile.TemporaryDirectory(prefix="ossinstruct-sandbox-") as scratch:
            folder = Path(scratch, "folder")
            folder.mkdir()
            for name, content in files.items():
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content.encode() if isinstance(content, str) else content)
            home = INSIDE if self.isolated else str(folder)
            environment = {"PATH": self.path, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", **env}
            if uid is not None:
                for path in (folder, *folder.rglob("*")):
                    os.chown(path, uid, uid, follow_symlinks=False)
            output_path = Path(scratch, "output")
            with open(output_path, "wb") as output:
                process = subprocess.Popen(
                    self._command(command, limits, uid, folder, environment),
                    cwd=folder,
                    env=environment,  # and inside, bubblewrap clears it and sets these alone
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                # A timer kills at the deadline while this thread blocks in waitpid: Popen.wait(timeout)
                # polls with sleeps that cost a short run up to half its time.
                expired = threading.Event()

                def kill() -> None:
                    expired.set()
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)  # bubblewrap, and with it the PID namespace

                timer = threading.Timer(limits.timeout_s, kill)
                timer.start()
                try:
                    process.wait()
                finally:
                    timer.cancel()
                status = "timeout" if expired.is_set() else "exited"
            code = process.returncode
            signalled = -code if code < 0 else code - 128 if self.isolated and code > 128 else 0
            if status == "exited" and signalled == signal.SIGXCPU:  # the soft CPU limit
                status = "timeout"
            elif status == "exited" and signalled:
                status = "killed"
            back = {}
            for name in collect:
                path = folder / name
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= limits.output_bytes:
                    back[name] = path.read_bytes()
            tail = _tail(output_path, 4000)
            shutil.rmtree(folder, onerror=_force_remove)
        return Outcome(status, None if status == "timeout" else code, tail, back)


def _tail(path: Path, size: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode("utf-8", errors="replace")


def _force_remove(function, path, _):
    """A folder the code made unreadable: make it writable again and remove it."""
    os.chmod(os.path.dirname(path), 0o700)
    function(path)

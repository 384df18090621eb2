"""Running model-generated code: the isolation every such run requires (a network namespace), and a
refusal, naming the setting to override it, where isolation is unavailable."""

from __future__ import annotations

import shutil
import subprocess


class SandboxError(RuntimeError):
    """Isolation for model-generated code is unavailable, and the run refuses."""


def network_isolation_prefix() -> list[str]:
    """`unshare` into a new network namespace (root, or an unprivileged user namespace)."""
    if shutil.which("unshare"):
        for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
            probe = subprocess.run([*prefix, "true"], capture_output=True)
            if probe.returncode == 0:
                return prefix
    return []


def require_network_isolation(what: str, opt_out: str = "") -> list[str]:
    """The `unshare` prefix for running model-generated code; without one, refuse (never run it with
    the host's network silently). `opt_out` names a setting that allows running without it."""
    isolation = network_isolation_prefix()
    if not isolation:
        hint = f"set {opt_out} to run without it" if opt_out else "root, or unprivileged user namespaces, are needed"
        raise SandboxError(f"cannot run {what} without network isolation: `unshare --net` failed ({hint})")
    return isolation


def limits_prefix(cpu_s: int, file_bytes: int, processes: int) -> list[str]:
    """`prlimit` (util-linux) in front of a command: CPU seconds, largest file written, processes of
    the user, no core dumps; set in the child alone, so a threaded caller needs no `preexec_fn`."""
    if shutil.which("prlimit") is None:
        raise SandboxError("cannot limit model-generated code: `prlimit` (util-linux) is not installed")
    return ["prlimit", f"--cpu={cpu_s}", f"--fsize={file_bytes}", f"--nproc={processes}", "--core=0", "--"]

"""The toolchains that run model-generated programs other than Python (MultiPL-E's: g++, node,
javac/java, php, rustc, swiftc), found wherever they are installed, and one build-and-run of a
program in the sandbox. Used by MultiPL-E (Table 2) and by execution validation.

Two ways to build and run (`multipl_e.toolchain`): `harness`, the command lines and time limits of
bigcode-evaluation-harness at be2a44c, the commit the paper's Table 2 ran
(`bigcode_eval/tasks/custom_metrics/multiple_metrics/eval_<language>.py`), and `ours` (`RECIPES`):
javatuples on the run's classpath, optimised builds of a newer Rust edition, memory caps, one
time limit per run.
"""

from __future__ import annotations

import math
import shlex
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from .sandbox import Limits, Sandbox

COMPILE_ERROR = 97  # the exit status of a build that failed, inside the sandbox's shell
BINARY_BYTES = 64 << 20  # a build's largest file (a statically linked Rust program is several MB)
RUNTIME_ADDRESS_SPACE = 8 << 30  # the JVM and V8 reserve several GiB they never touch
JAVA_CLASSPATH = ("/usr/share/java/javatuples.jar",)  # the prompts import org.javatuples (Debian: libjavatuples-java)

# Per language: the file a program is written to, the programs it needs, how to build and run it.
RECIPES = {
    "cpp": {
        "file": "main.cpp",
        "needs": ["g++"],
        "build": ["g++", "-std=c++17", "-O1", "main.cpp", "-o", "main"],
        "run": ["./main"],
    },
    "js": {"file": "main.js", "needs": ["node"], "run": ["node", "--max-old-space-size=512", "main.js"]},
    "java": {
        "file": "Problem.java",
        "needs": ["javac", "java"],
        "build": ["javac", "-cp", ":".join(JAVA_CLASSPATH), "Problem.java"],
        "run": ["java", "-ea", "-Xmx512m", "-cp", ":".join((".", *JAVA_CLASSPATH)), "Problem"],
        "files": list(JAVA_CLASSPATH),
    },
    "php": {"file": "main.php", "needs": ["php"], "run": ["php", "-d", "memory_limit=512M", "main.php"]},
    "rust": {
        "file": "main.rs",
        "needs": ["rustc"],
        "build": ["rustc", "-O", "--edition", "2021", "main.rs", "-o", "main"],
        "run": ["./main"],
    },
    "swift": {
        "file": "main.swift",
        "needs": ["swiftc"],
        "build": ["swiftc", "main.swift", "-o", "main"],
        "run": ["./main"],
    },
}


# bigcode-evaluation-harness be2a44c, per language: the build (with its environment) and the run, and
# the seconds each may take (its `safe_subprocess.run` default is 15 s; eval_javascript.py,
# eval_rust.py and eval_swift.py pass their own). Java compiles with CLASSPATH naming javatuples and
# runs with `-cp <outdir>`, which replaces that CLASSPATH: a task typed with Pair or Triplet compiles
# and then cannot load its tuple class (nuprl/MultiPL-E issue 45). Rust builds with plain `rustc`
# (edition 2015, a debug build: an integer overflow panics).
HARNESS = {
    "cpp": {"build": ["g++", "main.cpp", "-o", "main", "-std=c++17"], "build_s": 15, "run": ["./main"], "run_s": 15},
    "js": {"run": ["node", "main.js"], "run_s": 5},
    "java": {
        "build": ["javac", "-encoding", "UTF8", "-d", "out", "Problem.java"],
        "build_env": {"CLASSPATH": ":".join(JAVA_CLASSPATH)},
        "build_s": 15,
        "run": ["java", "-ea", "-cp", "out", "Problem"],
        "run_s": 15,
    },
    "php": {"run": ["php", "main.php"], "run_s": 15},
    "rust": {"build": ["rustc", "main.rs", "-o", "main"], "build_s": 15, "run": ["./main"], "run_s": 5},
    "swift": {"build": ["swiftc", "main.swift", "-o", "main"], "build_s": 45, "run": ["./main"], "run_s": 5},
}
TOOLCHAINS = ("harness", "ours")
TIMED_OUT = 137  # `timeout -s KILL`'s exit status when it killed the command


def missing_toolchain(language: str) -> str | None:
    """What is missing to run `language` (a program or a file), or None when everything is there."""
    recipe = RECIPES[language]
    for program in recipe["needs"]:
        if shutil.which(program) is None:
            return f"`{program}` not found"
    for path in recipe.get("files", []):
        if not Path(path).exists():
            return f"{path} not found"
    return None


SYSTEM_DIRS = ("/usr/", "/bin/", "/sbin/", "/lib", "/opt/", "/etc/")


def toolchain_paths(languages) -> tuple[list[str], list[str]]:
    """(folders to show read-only, folders to put first on PATH) for toolchains installed outside
    the system folders the sandbox shows: a rustup proxy's active toolchain (`rustc --print
    sysroot`), or the folder above a program's `bin`."""
    binds: list[str] = []
    path: list[str] = []
    for language in languages:
        for program in RECIPES[language]["needs"]:
            found = shutil.which(program)
            if found is None:
                continue
            real = Path(found).resolve()
            if str(real).startswith(SYSTEM_DIRS):
                continue
            if real.name == "rustup":  # a proxy: the compiler is in the active toolchain
                sysroot = subprocess.run([found, "--print", "sysroot"], capture_output=True, text=True, check=False)
                root = Path(sysroot.stdout.strip())
                if sysroot.returncode == 0 and (root / "bin" / program).exists():
                    binds.append(str(root))
                    path.append(str(root / "bin"))
                continue
            binds.append(str(real.parent.parent))
            path.append(str(real.parent))
    return list(dict.fromkeys(binds)), list(dict.fromkeys(path))


def sandbox_for(what: str, languages, settings: dict | None = None, slots: int = 1) -> Sandbox:
    """The sandbox, showing the toolchains of `languages` wherever they are installed."""
    binds, path = toolchain_paths(languages)
    return Sandbox(what, settings, slots, read_only=tuple(binds), path=tuple(path))


def build_and_run(
    sandbox: Sandbox,
    language: str,
    source: str,
    limits: Limits,
    java_class: str | None = None,
    toolchain: str = "ours",
) -> dict:
    """Build and run one program in one sandbox; `status` is passed, compile_error, failed or timeout.
    `toolchain` ours: the build gets at least 60 s more than `limits.timeout_s`; `java_class` names
    the Java class with `main` (the file is then `Main.java`; MultiPL-E's own programs are `class
    Problem` in `Problem.java`). harness: the harness's commands, each under its own time limit."""
    if toolchain == "harness":
        return _harness_build_and_run(sandbox, language, source, limits)
    if toolchain != "ours":
        raise ValueError(f"config key 'multipl_e.toolchain': unknown value {toolchain!r} ({', '.join(TOOLCHAINS)})")
    recipe = RECIPES[language]
    file, build, run = recipe["file"], recipe.get("build"), list(recipe["run"])
    if language == "java" and java_class:
        file, build, run[-1] = "Main.java", [*build[:-1], "Main.java"], java_class
    command = run
    if build:  # the built program gets `timeout_s` of its own, whatever the build took
        bounded = f"timeout -s KILL {limits.timeout_s:g} {shlex.join(run)}"
        command = ["sh", "-c", f"{shlex.join(build)} || exit {COMPILE_ERROR}; exec {bounded}"]
    limits = replace(
        limits,
        timeout_s=limits.timeout_s + (60 if build else 0),
        cpu_s=math.ceil(limits.timeout_s) + (120 if build else 1),
        # compilers, the JVM and V8 reserve address space far beyond what they use
        memory_bytes=max(limits.memory_bytes or 0, RUNTIME_ADDRESS_SPACE) if limits.memory_bytes else None,
        output_bytes=max(limits.output_bytes, BINARY_BYTES) if build else limits.output_bytes,  # the compiled program
    )
    outcome = sandbox.run(command, limits=limits, files={file: source})
    return _verdict(outcome, built=bool(build), bounded=bool(build))


def _verdict(outcome, built: bool, bounded: bool) -> dict:
    """passed, compile_error, failed or timeout: the sandbox's, or `timeout -s KILL`'s where the run
    was `bounded` by it."""
    output = outcome.output[-2000:]
    if outcome.status == "timeout" or (bounded and outcome.returncode == TIMED_OUT):
        return {"status": "timeout", "output": output}
    if built and outcome.returncode == COMPILE_ERROR:
        return {"status": "compile_error", "output": output}
    return {"status": "passed" if outcome.returncode == 0 else "failed", "output": output}


def harness_command(language: str) -> list[str]:
    """The shell command that builds and runs `language`'s program as the harness did, each step
    killed at the harness's time limit (a build that fails or times out exits COMPILE_ERROR)."""
    recipe = HARNESS[language]
    run = f"exec timeout -s KILL {recipe['run_s']} {shlex.join(recipe['run'])}"
    if "build" not in recipe:
        return ["sh", "-c", run]
    env = "".join(f"{name}={shlex.quote(value)} " for name, value in recipe.get("build_env", {}).items())
    build = f"{env}timeout -s KILL {recipe['build_s']} {shlex.join(recipe['build'])}"
    return ["sh", "-c", f"{build} || exit {COMPILE_ERROR}; {run}"]


def _harness_build_and_run(sandbox: Sandbox, language: str, source: str, limits: Limits) -> dict:
    recipe = HARNESS[language]
    seconds = recipe.get("build_s", 0) + recipe["run_s"]
    limits = replace(
        limits,
        timeout_s=seconds + 10,  # a backstop: `timeout` ends each step first
        cpu_s=seconds + 10,
        memory_bytes=RUNTIME_ADDRESS_SPACE if limits.memory_bytes else None,
        output_bytes=max(limits.output_bytes, BINARY_BYTES),
    )
    outcome = sandbox.run(harness_command(language), limits=limits, files={RECIPES[language]["file"]: source})
    return _verdict(outcome, built="build" in recipe, bounded=True)


def program_limits(timeout_s: float) -> Limits:
    return Limits(timeout_s=timeout_s, memory_bytes=RUNTIME_ADDRESS_SPACE, processes=256, output_bytes=64 << 20)

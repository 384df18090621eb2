"""A preflight of this machine for a configuration (`ossinstruct doctor`, and Snakemake's `onstart`).

Each check says what it found and, when it fails, how to fix it and which setting overrides it. The
command runs every check; before a workflow runs, `preflight` runs only those its jobs need (the
sandbox only if a job runs generated code, the key only if a job asks a hosted teacher, and so on),
so a run that would fail 20 minutes in fails before its first job, having lost nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PYTHONS = ((3, 11), (3, 12))  # pyproject.toml's requires-python
CODE_RULES = {"evaluate_model", "validate_pairs", "execute_multipl_e"}  # run model-generated code
TEACHER_RULES = {"generate_responses", "generate_tests"}
TOOLCHAIN_RULES = {"generate_multipl_e", "execute_multipl_e"}


class PreflightError(RuntimeError):
    pass


@dataclass
class Check:
    name: str
    status: str  # ok, fail, warn (works, with a caveat) or skip (not needed by this configuration)
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.status:>4}] {self.name}: {self.detail}"
        return text + (f"\n         fix: {self.fix}" if self.fix and self.status in ("fail", "warn") else "")


def python_version(version=sys.version_info) -> Check:
    found = f"{version[0]}.{version[1]}"
    if tuple(version[:2]) in PYTHONS:
        return Check("python", "ok", f"Python {found}")
    wanted = " or ".join(f"{a}.{b}" for a, b in PYTHONS)
    return Check("python", "fail", f"Python {found}", f"use Python {wanted} (scripts/setup.sh makes .venv with it)")


def sandbox(config: dict) -> Check:
    from .sandbox import isolation_problem

    problem = isolation_problem()
    if problem is None:
        return Check("sandbox", "ok", "bubblewrap starts a sandbox (no network, its own folder, limits)")
    fix = (
        "apt-get install bubblewrap util-linux; where unprivileged user namespaces are off, enable them "
        "(Ubuntu 24.04's AppArmor: sysctl kernel.apparmor_restrict_unprivileged_userns=0; Docker: run with "
        "--security-opt seccomp=unconfined, or as root with --cap-add SYS_ADMIN). Override: "
        "sandbox.require_isolation: false runs generated code WITHOUT isolation (recorded in the results)"
    )
    status = "fail" if config["sandbox"]["require_isolation"] else "warn"
    return Check("sandbox", status, problem, fix)


def toolchains(config: dict) -> Check:
    from .toolchains import missing_toolchain

    languages = config["multipl_e"]["languages"]
    missing = {language: why for language in languages if (why := missing_toolchain(language))}
    if not missing:
        return Check("toolchains", "ok", f"MultiPL-E: {', '.join(languages)} can be built and run")
    listed = "; ".join(f"{language}: {why}" for language, why in missing.items())
    skip = config["multipl_e"]["skip_missing_toolchains"]
    fix = "install them (scripts/setup.sh installs every one Debian has), or drop them from multipl_e.languages"
    fix += "" if skip else "; or multipl_e.skip_missing_toolchains: true reports them as missing"
    return Check("toolchains", "warn" if skip else "fail", f"missing {listed}", fix)


def gpus_needed(config: dict, rules: set[str] | None) -> dict[str, int]:
    """GPUs a job of `rules` (None: any) asks for, by the config key that asks."""
    wanted = {}
    teacher = config["teacher"]
    if teacher["server"] in ("vllm", "sglang") and (rules is None or rules & TEACHER_RULES):
        wanted["teacher.serve.gpus"] = teacher["serve"]["gpus"]
    if config["evaluate"]["backend"] == "vllm" and (rules is None or "generate_samples" in rules):
        wanted["evaluate.gpus"] = config["evaluate"]["gpus"]
    return {key: count for key, count in wanted.items() if count}


def gpus(config: dict, rules: set[str] | None = None, environ=os.environ) -> Check:
    from .gpus import machine_devices

    devices = config["gpus"]["devices"]
    found, where = (list(map(str, devices)), "gpus.devices") if devices is not None else machine_devices(environ)
    wanted = gpus_needed(config, rules)
    if not wanted:
        return Check("gpus", "ok", f"{len(found)} GPU(s) ({where}); no job of this configuration needs one")
    short = {key: count for key, count in wanted.items() if count > len(found)}
    if not short:
        return Check(
            "gpus", "ok", f"{len(found)} GPU(s) ({where}) for {', '.join(f'{k}: {v}' for k, v in wanted.items())}"
        )
    asks = ", ".join(f"{key}: {count}" for key, count in short.items())
    fix = "run on a node with that many GPUs (or list them in gpus.devices); 0 in those keys runs vLLM's CPU build"
    return Check("gpus", "fail", f"{asks}, but this machine has {len(found)} ({where})", fix)


def teacher_key(config: dict, environ=os.environ) -> Check:
    teacher = config["teacher"]
    if teacher["server"] != "openai":
        return Check("teacher key", "skip", f"teacher.server {teacher['server']}: a server this workflow starts")
    variable = teacher["api_key_env"]
    if variable is None:
        return Check("teacher key", "ok", "teacher.api_key_env is null: a server that checks no key")
    if environ.get(variable):
        return Check("teacher key", "ok", f"${variable} is set")
    fix = f"export {variable}=... (never written anywhere); a server that checks no key: teacher.api_key_env: null"
    return Check("teacher key", "fail", f"config key 'teacher.api_key_env' names ${variable}, which is not set", fix)


def teacher_endpoint(config: dict, environ=os.environ) -> Check:
    from .teacher.errors import TeacherError
    from .teacher.identity import read_models

    teacher = config["teacher"]
    if teacher["server"] != "openai":
        return Check("teacher endpoint", "skip", f"teacher.server {teacher['server']}")
    if not teacher["base_url"]:
        return Check("teacher endpoint", "fail", "config key 'teacher.base_url' is not set", "set it to the API's URL")
    key = environ.get(teacher["api_key_env"] or "", "") or "none"
    try:
        listing = read_models(teacher["base_url"], key)
    except TeacherError as error:
        return Check("teacher endpoint", "fail", str(error), "start the server, or correct teacher.base_url")
    names = [entry.get("id") for entry in listing or []]
    if listing is not None and teacher["model"] not in names:
        fix = f"teacher.model must be one of the ids the server lists: {names[:10]}"
        return Check(
            "teacher endpoint", "warn", f"{teacher['base_url']} answers, but does not list {teacher['model']!r}", fix
        )
    return Check("teacher endpoint", "ok", f"{teacher['base_url']} answers" + (" and lists the model" if names else ""))


def hub(config: dict) -> Check:
    """The Hub reachable (with hub.offline: everything prefetched), and each gated repository open to this login."""
    from . import hub as hub_module

    wanted = hub_module.references(config)
    if not wanted:
        return Check("hub", "skip", "this configuration reads nothing from the Hugging Face Hub")
    if config["hub"]["offline"]:
        lost = hub_module.missing(config)
        if lost:
            return Check(
                "hub", "fail", "not prefetched: " + "; ".join(lost), "run `snakemake prefetch` where the network is"
            )
        return Check("hub", "ok", f"hub.offline: all {len(wanted)} repositories are in the prefetch manifest")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    api, closed = HfApi(endpoint=hub_module.endpoint()), []
    for reference in wanted:
        try:
            api.auth_check(reference.repo, repo_type=reference.kind if reference.kind == "dataset" else "model")
        except GatedRepoError:
            closed.append(f"{reference.repo} is gated: accept its terms on the Hub")
        except RepositoryNotFoundError:
            closed.append(f"{reference.repo} not found, or private to another login")
        except Exception as error:  # noqa: BLE001 - unreachable: one message says so
            return Check(
                "hub",
                "fail",
                f"{hub_module.endpoint()} cannot be reached: {type(error).__name__}: {str(error)[:200]}",
                "connect to the network (or set HF_ENDPOINT to a mirror); compute nodes without network: "
                "`snakemake prefetch` on a login node, then hub.offline: true (configs/offline.yaml)",
            )
    if closed:
        return Check("hub", "fail", "; ".join(closed), "`hf auth login` with a token that may read them (HF_TOKEN)")
    return Check("hub", "ok", f"{hub_module.endpoint()}: {len(wanted)} repositories open to this login")


def disk(config: dict, min_free_gb: float) -> Check:
    folder = Path(config["cache_dir"]).resolve()
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free / 1e9
    if free >= min_free_gb:
        return Check("disk", "ok", f"{free:.1f} GB free at {folder}")
    fix = f"free space, or move cache_dir to a larger disk; preflight.min_free_gb (now {min_free_gb:g}) sets the floor"
    return Check("disk", "fail", f"{free:.1f} GB free at {folder}, under {min_free_gb:g} GB", fix)


def run_checks(*, config: dict, rules: Iterable[str] | None = None, environ=os.environ) -> list[Check]:
    """Every check (`rules` None), or those the jobs of `rules` need."""
    rules = set(rules) if rules is not None else None

    def needed(group: set[str]) -> bool:
        return rules is None or bool(rules & group)

    checks = [python_version()]
    checks.append(sandbox(config) if needed(CODE_RULES) else Check("sandbox", "skip", "no job runs generated code"))
    checks.append(toolchains(config) if needed(TOOLCHAIN_RULES) else Check("toolchains", "skip", "no MultiPL-E job"))
    checks.append(gpus(config, rules, environ))
    checks.append(
        teacher_key(config, environ) if needed(TEACHER_RULES) else Check("teacher key", "skip", "no teacher job")
    )
    if rules is None:  # the command alone: these reach out to the network
        checks += [teacher_endpoint(config, environ), hub(config)]
    checks.append(disk(config, config["preflight"]["min_free_gb"]))
    return checks


def preflight(config: dict, rules: Iterable[str], environ=os.environ) -> list[Check]:
    """Before a workflow's first job (Snakemake's onstart): raise PreflightError if a check its jobs
    need fails. `preflight.enabled: false` skips it."""
    if not config["preflight"]["enabled"]:
        return []
    checks = run_checks(config=config, rules=rules, environ=environ)
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        raise PreflightError(
            "preflight (ossinstruct doctor) failed before any job ran; nothing was changed:\n"
            + "\n".join(check.line() for check in failed)
            + "\n(preflight.enabled: false skips these checks)"
        )
    return checks


def main(argv: list[str]) -> int:
    import argparse

    from .config import load_layered

    parser = argparse.ArgumentParser(
        prog="ossinstruct doctor", description="check this machine for a configuration: every check, with its fix"
    )
    parser.add_argument("--configfile", action="append", default=[], help="overlays of config.yaml, in order")
    args = parser.parse_args(argv)
    config = load_layered(args.configfile)
    checks = run_checks(config=config)
    for check in checks:
        print(check.line())
    failed = sum(check.status == "fail" for check in checks)
    print(f"{len(checks)} checks: {failed} failed" if failed else f"{len(checks)} checks: none failed")
    return 1 if failed else 0

"""The conda environments for users: each `envs/<stage>.yaml` pins exactly its stage's requirements
(pyproject.toml's core and the stage's extra, the one place pins live), and its
`envs/<stage>.post-deploy.sh`, which Snakemake runs in the new environment, installs the library from
the checkout and what a pip list cannot say (the generic-CPU llama.cpp build, the weights wheels
without their dependencies). What each extra must hold is checked against the imports of the rules
that use the environment (test_architecture.py); that the environments install for real is
tests/integration/test_envs_install.py."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))
BUILT_AFTER = ("llama-cpp-python",)  # built by the post-deploy script, with build flags


def pip_part(env: Path) -> list[str]:
    spec = yaml.safe_load(env.read_text())
    return next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict) and "pip" in item)


def stage_requirements(stage: str) -> list[str]:
    """What envs/<stage>.yaml's pip part must be: the core and the stage's extra, as pyproject pins
    them, less what its post-deploy script builds."""
    wanted = PROJECT["dependencies"] + PROJECT["optional-dependencies"][stage]
    return [r for r in wanted if not r.startswith(BUILT_AFTER)]


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_each_environment_is_conda_yaml_pinning_its_stage_exactly(env):
    spec = yaml.safe_load(env.read_text())
    assert set(spec) == {"channels", "dependencies"} and spec["channels"] == ["conda-forge", "nodefaults"]
    conda = [item for item in spec["dependencies"] if isinstance(item, str)]
    assert conda[:2] == ["python=3.11", "pip"] and all(re.fullmatch(r"[a-z0-9_-]+(=[\d.]+)?", c) for c in conda)
    assert pip_part(env) == stage_requirements(env.stem)


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_no_environment_installs_from_a_path_relative_to_its_file(env):
    """Snakemake copies an env file to .snakemake/conda/<hash>.yaml before conda reads it, and
    conda runs pip from that folder: `..` there is .snakemake/, not the checkout."""
    for requirement in pip_part(env):
        assert not re.match(r"(-e\s+)?\.|/|file:", requirement), f"{env.name}: {requirement}"
    script = env.with_name(f"{env.stem}.post-deploy.sh").read_text()
    assert '-e "${OSSINSTRUCT_WORKFLOW:?' in script and "set -euo pipefail" in script
    assert not re.search(r"\s\.\.?/", script), "the post-deploy script runs from .snakemake/conda/"


def test_the_stages_that_start_llama_cpp_build_it_for_a_generic_cpu():
    for env in ENVS:
        script = env.with_name(f"{env.stem}.post-deploy.sh").read_text()
        needs = any(r.startswith("llama-cpp-python") for r in PROJECT["optional-dependencies"][env.stem])
        assert needs == ("llama-cpp-python[server]==0.3.36" in script), env.name
        if needs:
            assert "-DGGML_NATIVE=OFF" in script


@pytest.mark.parametrize("extra", sorted(set(PROJECT["optional-dependencies"]) - {"all", "test"}))
def test_every_requirement_is_pinned_the_same_everywhere(extra):
    pins: dict[str, str] = {}
    for requirement in PROJECT["dependencies"] + [r for e in PROJECT["optional-dependencies"].values() for r in e]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", requirement)
        if match:
            assert pins.setdefault(match.group(1).lower(), match.group(3)) == match.group(3), requirement
    for requirement in PROJECT["optional-dependencies"][extra]:
        assert "==" in requirement, f"[{extra}] {requirement} is not pinned exactly"

"""The conda environments for users: each installs the library with its stage's extra, so the pins
live in one place (pyproject.toml), and the extras pin exactly. What each extra must hold is checked
against the imports of the rules that use the environment (test_architecture.py)."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_each_environment_installs_its_extra_and_pins_nothing_else(env):
    spec = yaml.safe_load(env.read_text())
    pip = next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict) and "pip" in item)
    assert pip == [f"-e ..[{env.stem}]"]
    assert env.stem in PROJECT["optional-dependencies"]


@pytest.mark.parametrize("extra", sorted(set(PROJECT["optional-dependencies"]) - {"all", "test"}))
def test_every_requirement_is_pinned_the_same_everywhere(extra):
    pins: dict[str, str] = {}
    for requirement in PROJECT["dependencies"] + [r for e in PROJECT["optional-dependencies"].values() for r in e]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", requirement)
        if match:
            assert pins.setdefault(match.group(1).lower(), match.group(3)) == match.group(3), requirement
    for requirement in PROJECT["optional-dependencies"][extra]:
        assert "==" in requirement, f"[{extra}] {requirement} is not pinned exactly"

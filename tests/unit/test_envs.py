"""The conda environments for users pin exactly what the tested venv pins."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def pins(requirements):
    found = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", requirement.strip())
        if match:
            found[match.group(1).lower()] = match.group(3)
    return found


PROJECT = pins(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_match_the_project(env):
    spec = yaml.safe_load(env.read_text())
    pip = next(item["pip"] for item in spec["dependencies"] if isinstance(item, dict) and "pip" in item)
    env_pins = pins(pip)
    assert env_pins, f"{env.name} pins nothing"
    for name, version in env_pins.items():
        if name in PROJECT:
            assert version == PROJECT[name], f"{env.name}: {name}=={version}, pyproject pins {PROJECT[name]}"
    assert "-e .." in pip, f"{env.name} does not install the ossinstruct library"

"""Each conda environment installs for real, as far as this machine allows: conda's channels cannot
be reached here, so the env file's pip part is installed by real pip into a fresh venv, run from the
folder Snakemake deploys the file to (.snakemake/conda/, where conda runs pip), then its post-deploy
script runs in that venv as Snakemake runs it (from its copy beside the deployed file, in the project
folder). The library modules the stage's rules reach must then import there."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import copy_project
from ..unit.test_architecture import imports_of, reached, rule_envs
from ..unit.test_envs import ENVS, ROOT, pip_part

pytestmark = [pytest.mark.slow, pytest.mark.extended]


def stage_modules(stage: str) -> list[str]:
    """The library modules that the scripts of the stage's rules import, and all they reach."""
    modules: set[str] = set()
    for env, script in rule_envs():
        if env == stage:
            start, _ = imports_of(ROOT / "scripts" / f"{script}.py", "scripts")
            modules |= reached(start)[0]
    return sorted(modules)


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_the_environment_installs_from_where_snakemake_deploys_it_and_its_modules_import(env, tmp_path):
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    for name in ("pyproject.toml", "README.md", "LICENSE"):  # the rest of a clone: the library itself
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    deployed = project / ".snakemake" / "conda"
    deployed.mkdir(parents=True)
    digest = hashlib.md5(env.read_bytes()).hexdigest()
    shutil.copy(env, deployed / f"{digest}.yaml")
    shutil.copy(env.with_name(f"{env.stem}.post-deploy.sh"), deployed / f"{digest}.post-deploy.sh")
    # conda env create writes the pip part to a requirements file beside the env file and runs pip there
    requirements = deployed / f"condaenv.{digest}.requirements.txt"
    requirements.write_text("".join(line + "\n" for line in pip_part(env)))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    environ = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environ |= {"PATH": f"{venv / 'bin'}{os.pathsep}{environ['PATH']}", "VIRTUAL_ENV": str(venv)}

    def step(command, cwd):
        done = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-4000:]}"

    step([python, "-m", "pip", "install", "-q", "-U", "-r", requirements.name], cwd=deployed)
    environ["OSSINSTRUCT_WORKFLOW"] = str(project)  # what rules/common.smk sets for the script
    step(["bash", str(deployed / f"{digest}.post-deploy.sh")], cwd=project)

    modules = stage_modules(env.stem)
    assert len(modules) >= 3, modules
    code = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)\n"
    code += "import ossinstruct; print(ossinstruct.__file__)"
    done = subprocess.run(
        [python, "-c", code, *modules], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    # the editable install points at the checkout the workflow runs from, not at .snakemake/
    assert Path(done.stdout.strip()).resolve().is_relative_to(project.resolve()), done.stdout

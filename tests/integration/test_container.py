"""The image of container/ (container/build.sh: a Debian base made by mmdebstrap, the wheelhouse of
this checkout): the tiny workflow's main job runs inside it with podman, as an unprivileged user with
no network (the teacher's llama.cpp server on the container's loopback, EvalPlus scoring in the
bubblewrap sandbox), and its outputs are byte-identical to a native run's."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT, copy_project, require, snakemake_command
from ..sections import section

pytestmark = [pytest.mark.slow, pytest.mark.extended]
VERSION = next(
    line.split('"')[1] for line in (ROOT / "pyproject.toml").read_text().splitlines() if line.startswith("version")
)
IMAGE = f"localhost/ossinstruct:{VERSION}"
TARGET = "results/table1.csv"
# Python seeds only: the tiny config's C++ seed comes from this Python's own headers, which differ
# between the machine and the image (another Python build); everything else is the tiny config.
OVERLAY = {"seeds": {"languages": {"cpp": {"quota": 0}}}}
COMPARED = (".jsonl", ".csv", ".safetensors", ".gguf")
USER = "1000:1000"  # the sandbox runs code as an unprivileged user, as on a cluster node


def podman_environment() -> dict:
    """podman's own defaults, or container/containers.conf where they cannot start a container
    here (as container/build.sh decides)."""
    environ = dict(os.environ)
    probe = subprocess.run(["podman", "run", "--rm", "--network", "none", IMAGE, "true"], capture_output=True)
    if probe.returncode != 0 and "CONTAINERS_CONF" not in environ:
        environ["CONTAINERS_CONF"] = str(ROOT / "container" / "containers.conf")
    return environ


@pytest.fixture(scope="module")
def image(request):
    missing = [tool for tool in ("podman", "buildah", "mmdebstrap") if shutil.which(tool) is None]
    if missing and not (os.geteuid() == 0 and shutil.which("apt-get")):
        require(f"{', '.join(missing)} not installed, and this is not a root Debian machine", "no image build")
    started = time.monotonic()
    built = subprocess.run(["bash", str(ROOT / "container" / "build.sh")], capture_output=True, text=True, timeout=2400)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-5000:]
    size = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE], capture_output=True, text=True
    )
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nimage {IMAGE} built in {time.monotonic() - started:.0f} s, {int(size.stdout or 0) / 1e9:.2f} GB")
    return IMAGE


def outputs(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in sorted((project / "results").rglob("*"))
        if path.is_file() and path.name.endswith(COMPARED)
    }


def test_the_main_job_in_the_image_equals_a_native_run(image, tmp_path, capsys):
    for name in ("native", "image"):
        (tmp_path / name).mkdir()
        copy_project(tmp_path / name)
        (tmp_path / name / "container.yaml").write_text(yaml.safe_dump(OVERLAY))
    arguments = [TARGET, "--cores", "2", "--configfile", "tests/integration/config.yaml", "container.yaml"]

    native = subprocess.run(
        [*snakemake_command(), *arguments], cwd=tmp_path / "native", capture_output=True, text=True, timeout=1800
    )
    assert native.returncode == 0, native.stdout[-3000:] + native.stderr[-3000:]

    project = tmp_path / "image"
    subprocess.run(["chown", "-R", USER, str(project)], check=True)
    command = ["podman", "run", "--rm", "--network", "none", "--user", USER, "--env", "HOME=/work/.home"]
    # unmask=ALL: a full /proc, which bubblewrap needs to mount its own (podman masks parts of it)
    command += ["--security-opt", "unmask=ALL", "--volume", f"{project}:/work", "--workdir", "/work", image]
    inside = subprocess.run(
        [*command, "snakemake", *arguments], capture_output=True, text=True, timeout=1800, env=podman_environment()
    )
    assert inside.returncode == 0, inside.stdout[-3000:] + inside.stderr[-3000:]
    # EvalPlus scored every model and benchmark in the sandbox: with sandbox.require_isolation (on by
    # default) a job whose sandbox cannot start refuses to run; nothing falls back.
    assert section("sandbox", {})["require_isolation"] is True
    scores = sorted(path.relative_to(project) for path in (project / "results/eval").rglob("scores.json"))
    assert len(scores) == 4, scores

    ours, theirs = outputs(tmp_path / "native"), outputs(project)
    assert set(ours) == set(theirs) and len(ours) >= 10, sorted(set(ours) ^ set(theirs))
    differing = [name for name in ours if ours[name] != theirs[name]]
    with capsys.disabled():
        print(f"\n{len(ours) - len(differing)} of {len(ours)} outputs byte-identical in the image and natively")
    assert differing == []

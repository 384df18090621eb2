"""The Hugging Face Hub: everything a config names there, fetched once by the `prefetch` target.

Compute nodes often have no outbound network. `snakemake prefetch` (local rules, run where the
network is) collects the seeds and imports the instruction sets that are streamed from the Hub, and
downloads every model, tokenizer and benchmark dataset the config names into the Hugging Face cache
(`HF_HOME`, which compute jobs must see); `results/prefetch/manifest.json` lists what it fetched, at
which commit. With `hub.offline: true` every other job runs with `HF_HUB_OFFLINE=1` and reads only
that cache, and the workflow refuses to start when the manifest does not cover the config.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .io import read_json, write_json
from .paths import dataset_source, is_gguf, is_hub, is_packaged

log = logging.getLogger(__name__)

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
MARK = "OSSINSTRUCT_HUB_OFFLINE"  # set with the variables above, so that the network rules know to undo them
MANIFEST = "results/prefetch/manifest.json"
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
# A model's weights in one format: safetensors where the repository has them (not the .bin copies).
NOT_WEIGHTS = [
    "*.h5",
    "*.msgpack",
    "*.onnx",
    "*.onnx_data",
    "*.ot",
    "*.tflite",
    "*.gguf",
    "*.mlmodel",
    "original/*",
    "onnx/*",
    "openvino/*",
    "coreml/*",
    "flax_model*",
    "tf_model*",
    "rust_model*",
]
PICKLED = ["*.bin", "*.pt", "*.pth", "*.ckpt"]
TOKENIZER_FILES = [
    "tokenizer*",
    "*.model",
    "*.tiktoken",
    "vocab*",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template*",
    "config.json",
    "generation_config.json",
]


class HubError(RuntimeError):
    pass


@dataclass(frozen=True)
class Reference:
    """One thing on the Hub: a model (its weights), a tokenizer, or a dataset loaded whole by a job."""

    kind: str  # model | tokenizer | dataset
    repo: str
    revision: str | None = None
    split: str | None = None  # dataset: the split the job loads
    keys: tuple[str, ...] = field(default=(), compare=False)  # the config keys that name it

    @property
    def name(self) -> str:
        return f"{self.kind} {self.repo}" + (f"@{self.revision}" if self.revision else "")


def hub_id(spec) -> str | None:
    """`spec` when it names a Hub repository (`org/name`, not a packaged file, a GGUF file or a local path)."""
    if not isinstance(spec, str) or is_packaged(spec) or is_gguf(spec) or not HUB_ID.match(spec):
        return None
    return None if Path(spec).exists() else spec


def references(config: dict) -> list[Reference]:
    """What the config names on the Hub that a compute job loads, each once with the keys naming it.

    Seeds and instruction sets streamed from the Hub are not here: `prefetch` builds their files
    (collect_seeds, import_sft_data), which is all a compute job reads of them."""
    from .models import teacher_config, teacher_names

    found: dict[Reference, list[str]] = {}

    def add(reference: Reference | None, key: str) -> None:
        if reference is not None:
            found.setdefault(reference, []).append(key)

    def model(spec, key, kind="model"):
        repo = hub_id(spec)
        add(Reference(kind, repo) if repo else None, key)

    for name, student in config["students"].items():
        model(student.get("path"), f"students.{name}.path")
    for name in teacher_names(config):
        teacher = teacher_config(config, name)
        prefix = "teacher" if name == config["teacher"]["name"] else f"teachers.{name}"
        if teacher["server"] in ("vllm", "sglang"):
            model(teacher["serve"]["model"], f"{prefix}.serve.model")
        tokenizer = teacher.get("tokenizer") or ""
        if is_hub(tokenizer):
            model(tokenizer[3:], f"{prefix}.tokenizer", "tokenizer")
    model(config["analysis"].get("embedding_model"), "analysis.embedding_model")
    model(config["analysis"].get("tokenizer"), "analysis.tokenizer", "tokenizer")
    for family, source in (config["curate"].get("benchmarks") or {}).items():
        if source and is_hub(source):
            repo, revision = dataset_source(source)
            add(Reference("dataset", repo, revision, split="test"), f"curate.benchmarks.{family}")
    # A repository both loaded whole and for its tokenizer: the whole model covers the tokenizer.
    models = {(ref.repo, ref.revision) for ref in found if ref.kind == "model"}
    merged: dict[Reference, list[str]] = {}
    for ref, keys in found.items():
        if ref.kind == "tokenizer" and (ref.repo, ref.revision) in models:
            ref = Reference("model", ref.repo, ref.revision)
        merged.setdefault(ref, []).extend(keys)
    return [Reference(ref.kind, ref.repo, ref.revision, ref.split, tuple(keys)) for ref, keys in merged.items()]


def streamed_sources(config: dict) -> dict[str, list[str]]:
    """The files `prefetch` builds because their sources are streamed from the Hub, by config key."""
    from .models import sft_name

    files: dict[str, list[str]] = {}
    languages = config["seeds"]["languages"]
    hub_languages = [language for language, spec in languages.items() if spec["source"] == "hf"]
    if hub_languages:
        files[f"results/seeds/{config['seeds']['corpus']}.jsonl"] = [
            f"seeds.languages.{lang}.hf" for lang in hub_languages
        ]
    used = {sft_name(config, run["data"]) for run in config["runs"].values()} | set(config["analysis"]["compare"])
    for name, spec in config["sft_data"].items():
        if name in used and is_hub(spec["source"]):
            files[f"results/import/{name}.jsonl"] = [f"sft_data.{name}.source"]
    return files


# --- offline jobs --------------------------------------------------------------------------------


def set_offline(config: dict, environ=os.environ) -> bool:
    """With `hub.offline: true`, every job this process starts reads only the Hugging Face cache."""
    if not config["hub"]["offline"]:
        return False
    environ.update({name: "1" for name in OFFLINE_VARIABLES}, **{MARK: "1"})
    return True


def go_online(environ=os.environ) -> None:
    """For the rules that download (prefetch, collect_seeds, import_sft_data): undo `set_offline`,
    before any Hugging Face library is imported. A user's own HF_HUB_OFFLINE stays."""
    if environ.pop(MARK, None):
        for name in OFFLINE_VARIABLES:
            environ.pop(name, None)


def missing(config: dict, manifest_path: str | Path = MANIFEST) -> list[str]:
    """What the config names on the Hub that the prefetch manifest does not list (each with its keys)."""
    manifest_path = Path(manifest_path)
    fetched = set()
    if manifest_path.exists():
        fetched = {(row["kind"], row["repo"], row["revision"]) for row in read_json(manifest_path)["fetched"]}
    wanted = [(ref, f"{ref.name} ({', '.join(ref.keys)})") for ref in references(config)]
    lost = [text for ref, text in wanted if (ref.kind, ref.repo, ref.revision) not in fetched]
    lost += [
        f"{path} ({', '.join(keys)})" for path, keys in streamed_sources(config).items() if not Path(path).exists()
    ]
    return lost


def check_offline(config: dict, targets, manifest_path: str | Path = MANIFEST) -> None:
    """With `hub.offline: true` and a target other than prefetch: refuse early, naming what is not fetched."""
    if not config["hub"]["offline"] or "prefetch" in set(targets or ()):
        return
    lost = missing(config, manifest_path)
    if lost:
        raise HubError(
            "config key 'hub.offline' is true (jobs read only the Hugging Face cache), but "
            f"{manifest_path} does not list: " + "; ".join(lost) + ". Run `snakemake prefetch` (with the same "
            "--configfile) where the network is, with the same HF_HOME as the jobs."
        )


# --- downloads -----------------------------------------------------------------------------------


def fetch(reference: Reference) -> dict:
    """Download `reference` into the Hugging Face cache; a manifest row (the commit, files, bytes)."""
    from huggingface_hub import HfApi, snapshot_download

    if reference.kind == "dataset":
        return fetch_dataset(reference)
    if reference.kind == "tokenizer":
        allow, ignore = TOKENIZER_FILES, None
    else:
        files = HfApi().list_repo_files(reference.repo, revision=reference.revision)
        has_safetensors = any(name.endswith(".safetensors") for name in files)
        allow, ignore = None, NOT_WEIGHTS + (PICKLED if has_safetensors else [])
    folder = Path(
        snapshot_download(reference.repo, revision=reference.revision, allow_patterns=allow, ignore_patterns=ignore)
    )
    kept = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    return {
        **row_of(reference),
        "commit": folder.name,
        "path": str(folder),
        "files": kept,
        "bytes": sum((folder / name).stat().st_size for name in kept),
    }


def fetch_dataset(reference: Reference) -> dict:
    """A dataset a job loads whole (`datasets.load_dataset(id, split, revision)`), loaded the same way
    here: the datasets cache then answers the job's call with HF_HUB_OFFLINE=1."""
    import datasets
    from huggingface_hub import HfApi

    loaded = datasets.load_dataset(reference.repo, split=reference.split, revision=reference.revision)
    try:
        commit = HfApi().dataset_info(reference.repo, revision=reference.revision or "main").sha
    except Exception as error:  # noqa: BLE001 - the data is cached; only the record of its commit is lost
        log.warning("%s: its commit is not known (%s)", reference.name, type(error).__name__)
        commit = None
    return {
        **row_of(reference),
        "commit": commit,
        "fingerprint": loaded._fingerprint,
        "rows": loaded.num_rows,
        "files": [entry["filename"] for entry in loaded.cache_files],
        "bytes": sum(Path(entry["filename"]).stat().st_size for entry in loaded.cache_files),
    }


def row_of(reference: Reference) -> dict:
    row = asdict(reference)
    row["keys"] = list(reference.keys)
    return row


def describe_error(reference: Reference, error: Exception) -> str:
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    url = f"{endpoint()}/{'datasets/' if reference.kind == 'dataset' else ''}{reference.repo}"
    if isinstance(error, GatedRepoError):
        why = f"gated: accept its terms at {url} with the account of your token (hf auth login)"
    elif isinstance(error, RepositoryNotFoundError) or type(error).__name__ == "DatasetNotFoundError":
        why = f"not found at {url} (misspelt, private, or gated without a token)"
    else:
        why = f"{type(error).__name__}: {str(error)[:300]}"
    return f"{reference.name} ({', '.join(reference.keys)}): {why}"


def run(*, references: list[dict], built: dict[str, list[str]], output: str) -> None:
    """The `prefetch` rule: its params' references (rows of `row_of`) and the files it built."""
    prefetch([from_row(row) for row in references], output, built)


def from_row(row: dict) -> Reference:
    return Reference(row["kind"], row["repo"], row["revision"], row["split"], tuple(row["keys"]))


def prefetch(wanted: list[Reference], output: str | Path, built: dict[str, list[str]] | None = None) -> dict:
    """Fetch every reference; write the manifest. Every failure is reported, together."""
    rows, failures = [], []
    for reference in wanted:
        try:
            row = fetch(reference)
        except Exception as error:  # noqa: BLE001 - gated, missing or unreachable: each reported with its key
            failures.append(describe_error(reference, error))
            continue
        log.info("fetched %s: %s files, %.1f MB", reference.name, len(row["files"]), row["bytes"] / 1e6)
        rows.append(row)
    if failures:
        raise HubError(f"prefetch: {len(failures)} of {len(rows) + len(failures)} not fetched: " + "; ".join(failures))
    manifest = {
        "endpoint": endpoint(),
        "cache": huggingface_cache(),
        "fetched": rows,
        "built": [
            {"path": path, "keys": keys, "bytes": Path(path).stat().st_size} for path, keys in (built or {}).items()
        ],
    }
    write_json(output, manifest)
    return manifest


def endpoint() -> str:
    """The Hub these downloads come from (`HF_ENDPOINT`, else the Hugging Face Hub)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def huggingface_cache() -> str:
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE

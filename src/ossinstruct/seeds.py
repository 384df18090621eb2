"""Stage 1, seed snippets (paper §2.1): random runs of 1-15 consecutive lines from source documents.

Reads, per language, a Hugging Face dataset (the paper: `bigcode/starcoderdata`, streamed), a JSONL
corpus, or a local source tree (the default: this interpreter's standard library and whatever other
languages the machine has); writes `results/seeds/{corpus}.jsonl` with the fields
`id, lang, seed, source, start_line, n_lines, raw_index, index`.

The draw reproduces the paper's code exactly: the first `max_considered` documents, mapped in
chunks of `chunk_size` rows, Python's `random` reseeded with `seed + index of the chunk's first row`
at each chunk; per document a start line `random.choice(range(n_lines))` and a length
`randint(min_lines, max_lines)`; then the whole set shuffled with `seed` the way Hugging Face
`datasets.Dataset.shuffle` does it (a numpy `default_rng(seed).permutation`). `raw_index` is the
position before the shuffle, `index` the position after it; a language keeps `index < quota`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import write_json, write_jsonl
from .secret_scan import SecretScan

log = logging.getLogger(__name__)

SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__", "node_modules", ".git"}


@dataclass(frozen=True)
class Document:
    source: str
    text: str


def expand_root(root: str) -> Path:
    """`{stdlib}` is this interpreter's standard library; `~` and environment variables expand."""
    root = root.replace("{stdlib}", sysconfig.get_paths()["stdlib"])
    return Path(os.path.expandvars(os.path.expanduser(root)))


def list_documents(
    roots: Sequence[str], extensions: Sequence[str], max_considered: int, max_file_bytes: int
) -> list[Document]:
    """Every readable, non-empty UTF-8 file under `roots` with one of `extensions`, in path order.

    Sorted paths make the document order, and so the draw, the same on every run of one machine.
    Empty documents are left out: the paper's `random.choice` would fail on them. A document's
    `source` is its path relative to its root, after the root's own folder name (`my-repo/pkg/a.py`):
    published data names no one's home folder.
    """
    suffixes = tuple(extensions)
    paths: dict[Path, str] = {}  # each file and its name as recorded: the root's folder name, then the path below it
    for root in roots:
        base = expand_root(root)
        if not base.is_dir():
            log.warning("seed root %s (from %r) is not a directory; skipped", base, root)
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in filenames:
                if name.endswith(suffixes):
                    path = Path(dirpath) / name
                    paths.setdefault(path, (Path(base.resolve().name) / path.relative_to(base)).as_posix())
    documents: list[Document] = []
    for path in sorted(paths):
        if len(documents) >= max_considered:
            break
        try:
            if not path.is_file() or path.stat().st_size > max_file_bytes:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.strip():
            documents.append(Document(source=paths[path], text=text))
    return documents


class SeedError(ValueError):
    pass


FILE_BUILDERS = ("json", "parquet", "csv", "text", "arrow")  # `datasets` builders that read files of one's own


def stream_hf_documents(spec: dict, max_considered: int) -> list[Document]:
    """The first `max_considered` rows of a Hugging Face dataset, streamed, in the dataset's order.

    `spec`: dataset (an id such as bigcode/starcoderdata, a local folder, or a builder such as
    `json` or `parquet` with `data_files`), name (the dataset's configuration), data_dir (the
    language's folder, e.g. python, c-sharp), data_files (a file pattern, a list, or a split's
    patterns), revision, split, column. Every row counts, empty or
    not, so the chunks line up with the paper's `Dataset.map(batched=True, with_indices=True)`.
    """
    import datasets

    if spec["dataset"] in FILE_BUILDERS and not spec.get("data_files"):  # it would read the working folder
        raise SeedError(
            f"seeds: config key 'hf.data_files' is needed with the builder {spec['dataset']!r} (the files to read, "
            "e.g. exports/python/*.jsonl)"
        )
    try:
        stream = datasets.load_dataset(
            spec["dataset"],
            name=spec.get("name"),
            data_dir=spec.get("data_dir"),
            data_files=spec.get("data_files"),
            revision=spec.get("revision"),
            split=spec["split"],
            streaming=True,
        )
    except Exception as error:  # noqa: BLE001 - gated, offline or misspelt: all reported with the key
        raise SeedError(
            f"seeds: cannot open Hugging Face dataset {spec['dataset']!r} (name {spec.get('name')!r}, data_dir "
            f"{spec.get('data_dir')!r}, data_files {spec.get('data_files')!r}, revision {spec.get('revision')!r}): "
            f"{type(error).__name__}: {str(error)[:300]}"
        ) from None
    column = spec["column"]
    documents = []
    for position, row in enumerate(stream):
        if position >= max_considered:
            break
        if column not in row:
            raise SeedError(f"seeds: dataset {spec['dataset']!r} has no column {column!r} (has {sorted(row)})")
        documents.append(Document(source=f"{hf_label(spec)}#{position}", text=row[column] or ""))
    return documents


def hf_label(spec: dict) -> str:
    """How a Hugging Face source is named in `source`: the dataset, its configuration, its folder (the
    paper's `bigcode/starcoderdata/python`); a file pattern by its name alone, not a local path."""
    label = spec["dataset"] + (f":{spec['name']}" if spec.get("name") else "") + f"/{spec.get('data_dir') or ''}"
    files = spec.get("data_files")
    if isinstance(files, str):
        label += f"[{Path(files).name}]"
    return label


def read_jsonl_documents(path: str, column: str, max_considered: int) -> list[Document]:
    """The first `max_considered` rows of a JSONL corpus (optionally .gz), in file order."""
    from .io import iter_jsonl_numbered

    path = str(expand_root(path))
    documents = []
    for line_number, row in iter_jsonl_numbered(path):
        if len(documents) >= max_considered:
            break
        if column not in row:
            raise SeedError(f"{path}:{line_number}: not a JSON object with a {column!r} field (has {sorted(row)})")
        documents.append(Document(source=f"{path}:{line_number}", text=row[column] or ""))
    return documents


def documents_for(spec: dict, settings: dict) -> list[Document]:
    """A language's documents from its `source` (local: roots + extensions; jsonl; hf)."""
    source = spec["source"]
    if source == "hf":
        return stream_hf_documents(spec["hf"], settings["max_considered"])
    if source == "jsonl":
        return read_jsonl_documents(spec["jsonl"], spec["column"], settings["max_considered"])
    return list_documents(spec["roots"], spec["extensions"], settings["max_considered"], settings["max_file_bytes"])


def draw_snippet(rng: random.Random, text: str, min_lines: int, max_lines: int) -> tuple[str, int, int]:
    """The paper's per-document draw; returns (snippet, start_line, number of lines taken).

    An empty document draws nothing and leaves the generator untouched (where the paper's
    `random.choice` would raise); its empty snippet is then left out of the seeds.
    """
    lines = text.splitlines(keepends=True)
    if not lines:
        return "", 0, 0
    start = rng.choice(range(len(lines)))
    length = rng.randint(min_lines, max_lines)
    taken = lines[start : start + length]
    return "".join(taken), start, len(taken)


def extract_seeds(
    documents: Sequence[Document],
    lang: str,
    quota: int,
    seed: int = 976,
    chunk_size: int = 1000,
    min_lines: int = 1,
    max_lines: int = 15,
    per_document: int = 1,
    scan: SecretScan | None = None,
) -> list[dict]:
    """The paper's draw: one snippet per document (`per_document` > 1: that many, drawn one after the
    other from the chunk's generator, for a small corpus of one's own), shuffled, the first `quota`
    kept. With `scan`, a snippet it flags is passed over and the next one in the order taken."""
    drawn: list[tuple[str, int, int]] = []
    document_of: list[int] = []
    for chunk_start in range(0, len(documents), chunk_size):
        rng = random.Random(seed + chunk_start)
        for position in range(chunk_start, min(chunk_start + chunk_size, len(documents))):
            for _ in range(per_document):
                drawn.append(draw_snippet(rng, documents[position].text, min_lines, max_lines))
                document_of.append(position)
    order = np.random.default_rng(seed).permutation(len(drawn)) if drawn else []
    order = [int(raw_index) for raw_index in order if drawn[int(raw_index)][2] > 0]
    rows: list[dict] = []
    taken = 0
    while len(rows) < quota and taken < len(order):
        batch = []
        for raw_index in order[taken : taken + quota - len(rows)]:
            snippet, start, n_lines = drawn[raw_index]
            batch.append(
                {
                    "lang": lang,
                    "seed": snippet,
                    "source": documents[document_of[raw_index]].source,
                    "start_line": start,
                    "n_lines": n_lines,
                    "raw_index": raw_index,
                }
            )
        taken += len(batch)
        flagged = scan.secrets_in(batch) if scan is not None else [[]] * len(batch)
        for row, kinds in zip(batch, flagged, strict=True):
            if not kinds:
                index = len(rows)
                rows.append({"id": f"{lang}-{index}", **row, "index": index})
    return [{key: row[key] for key in SEED_COLUMNS} for row in rows]


SEED_COLUMNS = ("id", "lang", "seed", "source", "start_line", "n_lines", "raw_index", "index")


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """SHA-256 over the documents' sources and texts in draw order: equal fingerprints, equal draws.

    A local source tree differs between machines (installed packages add headers and scripts), so
    two machines' seeds can differ; the fingerprint in the seeds report shows whether they did.
    """
    digest = hashlib.sha256()
    for document in documents:
        for part in (document.source, document.text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def collect_seeds(settings: dict) -> tuple[list[dict], dict, list[dict]]:
    """All languages of a `seeds` config section; returns the rows, a per-language report, and the
    documents the seeds came from (`source`, `lang`, `content`: Table 6 extracts pairs from them)."""
    rows: list[dict] = []
    seed_documents: list[dict] = []
    report: dict = {"languages": {}}
    scan = SecretScan() if settings.get("scan_secrets") else None
    for lang, spec in settings["languages"].items():
        documents = documents_for(spec, settings)
        lang_rows = extract_seeds(
            documents,
            lang,
            spec["quota"],
            seed=settings["seed"],
            chunk_size=settings["chunk_size"],
            min_lines=settings["min_lines"],
            max_lines=settings["max_lines"],
            per_document=settings["per_document"],
            scan=scan,
        )
        report["languages"][lang] = {
            "documents": len(documents),
            "quota": spec["quota"],
            "seeds": len(lang_rows),
            "quota_met": len(lang_rows) == spec["quota"],
            "documents_sha256": corpus_fingerprint(documents),
        }
        if len(lang_rows) < spec["quota"]:
            log.warning(
                "%s: %d seeds of a quota of %d (%d documents found)",
                lang,
                len(lang_rows),
                spec["quota"],
                len(documents),
            )
        rows.extend(lang_rows)
        texts = {document.source: document.text for document in documents}
        sources = dict.fromkeys(row["source"] for row in lang_rows)  # a document once, however many seeds it gave
        seed_documents += [{"source": source, "lang": lang, "content": texts[source]} for source in sources]
    report["total"] = len(rows)
    if scan is not None:
        report["secrets"] = scan.report()
        if scan.flagged:
            log.warning(
                "seeds: %d snippets held secrets and are not seeds (%s)",
                len(scan.flagged),
                report["secrets"]["by_type"],
            )
    return rows, report, seed_documents


def run(*, output: str, report: str, settings: dict, documents: str | None = None) -> None:
    rows, summary, seed_documents = collect_seeds(settings)
    if not rows:
        raise ValueError("seeds: no seed snippets found in any configured source (seeds.languages)")
    write_jsonl(output, rows)
    if documents:
        write_jsonl(documents, seed_documents)
    write_json(report, summary)

"""JSON Lines input and output shared by every stage.

Reading names the file and line of a corrupt row; writing goes through a temporary file and a
rename, so an interrupted stage never leaves a half-written artifact that looks complete.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Bad input data, with the file and line that caused it."""


def _open_text(path: Path, mode: str):
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    for _, row in iter_jsonl_numbered(path):
        yield row


def iter_jsonl_numbered(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    with _open_text(path, "r") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield number, decode_row(path, line, lambda number=number: number)


def decode_row(path: str | os.PathLike, line: str | bytes, number: Callable[[], int]) -> dict[str, Any]:
    """One JSON Lines row; a corrupt one is an error naming the file and line (`number()`, asked
    only then: a reader that seeks into a file counts its lines only for an error)."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{number()}: not valid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number()}: expected a JSON object, got {type(row).__name__}")
    return row


def read_jsonl(path: str | os.PathLike, require: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every row; with `require`, a row without one of those fields is an error naming the file and line."""
    require = tuple(require)
    rows = []
    for number, row in iter_jsonl_numbered(path):
        require_fields(path, number, row, require)
        rows.append(row)
    return rows


def require_fields(path: str | os.PathLike, number: int, row: dict, require: tuple[str, ...]) -> None:
    """A row without one of the fields a stage needs is an error naming the file and line."""
    missing = [name for name in require if name not in row]
    if missing:
        fields = "fields" if len(missing) > 1 else "field"
        raise DataError(
            f"{path}:{number}: row has no {', '.join(repr(m) for m in missing)} {fields} "
            f"(this stage needs {', '.join(require)}; the row has {', '.join(sorted(row)) or 'nothing'})"
        )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # the process's, read once (os.umask can only be read by setting it)


def atomic_writer(path: str | os.PathLike, text: bool = True, buffering: int = -1):
    """Open a temporary file next to `path`; the caller renames it with `commit`. The file gets the
    permissions `open` would give it (0666 less the umask), not mkstemp's owner-only 0600: results
    on a shared file system are read by the group."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~UMASK)
    return os.fdopen(fd, "w" if text else "wb", buffering, encoding="utf-8" if text else None), Path(tmp)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    path = Path(path)
    handle, tmp = atomic_writer(path, text=False)
    count = 0
    try:
        with handle:
            sink = gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) if path.suffix == ".gz" else handle
            for row in rows:
                sink.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
                count += 1
            if sink is not handle:
                sink.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def write_json(path: str | os.PathLike, data: Any) -> None:
    handle, tmp = atomic_writer(path)
    try:
        with handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None

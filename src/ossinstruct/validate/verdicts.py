"""Verdicts kept as they are reached: one SQLite file per validation job, outside the rule's outputs,
keyed by what decides a verdict (the pair's language, solution, tests and candidates, and the limits).

Each verdict is committed as soon as the pair has run, so a killed job (SIGKILL, a SLURM time limit, a
preempted node) loses only the pairs in flight: the rerun runs the others no more. Shard i of n writes
its own file and reads every other shard's, so a new shard count runs nothing twice either.
Delete `<cache_dir>/validate-verdicts.d/` to judge every pair again (a new toolchain, say).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from ..settings import LIMIT_KEYS
from ..shards import parse_shard


def verdict_key(row: dict, settings: dict) -> str:
    """What decides a row's verdict, hashed: its code and tests and the limits it runs under."""
    decided = {
        "lang": row.get("lang"),
        "solution": row.get("solution"),
        "tests": row.get("tests"),
        "candidates": row.get("candidates"),
        "limits": {key: settings[key] for key in LIMIT_KEYS},
    }
    return hashlib.sha256(json.dumps(decided, sort_keys=True).encode()).hexdigest()


def cache_files(cache_dir: str, teacher: str, shard: str) -> tuple[Path, list[Path]]:
    """(the file this job writes, the files of other shards whose verdicts it may reuse)."""
    folder = Path(cache_dir) / "validate-verdicts.d"
    index, count = parse_shard(shard)
    own = folder / f"{teacher}.shard-{index}-of-{count}.sqlite"
    return own, [path for path in sorted(folder.glob(f"{teacher}.shard-*.sqlite")) if path != own]


class VerdictCache:
    """A write-ahead store of verdicts (WAL: every committed verdict survives a killed process).
    Used from one thread: the job's main thread commits each verdict as its worker returns it."""

    def __init__(self, path: str | Path, others: list[Path] = ()) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT)")
        self.db.commit()
        self.others = [sqlite3.connect(f"file:{other}?mode=ro", uri=True) for other in others]

    def get(self, key: str) -> dict | None:
        for db in (self.db, *self.others):
            try:
                found = db.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
            except sqlite3.OperationalError:  # another shard's file, not yet holding the table
                continue
            if found:
                return json.loads(found[0])
        return None

    def put(self, key: str, verdict: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?)", (key, json.dumps(verdict)))
        self.db.commit()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]

    def close(self) -> None:
        for db in (self.db, *self.others):
            db.close()

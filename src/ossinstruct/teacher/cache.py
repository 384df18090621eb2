"""The teacher's answer cache: one SQLite file per job, outside the rule's outputs, keyed by request hash.

Every answer is committed as soon as it arrives, so a rerun or a crash (even SIGKILL) never pays for the
same request twice. Batch mode records its submitted batches in the same file (`record_batch`,
`pending_batches`), so a rerun polls them instead of submitting again.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from .errors import TeacherError

log = logging.getLogger(__name__)


class ResponseCache:
    """Write-ahead store of teacher answers; each answer is committed before the next request."""

    def __init__(self, path: str | os.PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.lock = threading.Lock()
        try:
            # WAL + synchronous=NORMAL: every committed answer survives a killed process (SIGKILL);
            # only an operating-system crash can lose the last few commits.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS responses (request_hash TEXT PRIMARY KEY, request TEXT,"
                " response TEXT, created REAL)"
            )
            self.db.commit()
            self.db.execute("SELECT request_hash, request, response, created FROM responses LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise TeacherError(
                f"{self.path}: not a readable answer cache ({error}). It may hold answers already paid for, so "
                "it is left as it is: move it aside (do not delete it) and rerun, and the teacher is asked again"
            ) from None

    def get(self, key: str) -> dict | None:
        with self.lock:
            found = self.db.execute("SELECT response FROM responses WHERE request_hash = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, key: str, request: dict, response: dict) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                (key, json.dumps(request), json.dumps(response), time.time()),
            )
            self.db.commit()

    def adopt(self, others, keys) -> int:
        """Copy the answers for `keys` that other cache files hold (earlier runs split differently).

        Each shard of a sharded run writes its own file, because SQLite's write-ahead log must not be
        shared across machines (a network file system); reading another file once, at the start, is
        safe. A file that cannot be read is skipped with a warning: its answers are asked again.
        """
        wanted = [key for key in dict.fromkeys(keys) if self.get(key) is None]
        adopted = 0
        for other in others:
            if not wanted or Path(other).resolve() == self.path.resolve():
                continue
            try:
                source = sqlite3.connect(f"file:{Path(other).resolve()}?mode=ro", uri=True)
                found = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    found += source.execute(
                        "SELECT request_hash, request, response, created FROM responses"
                        f" WHERE request_hash IN ({marks})",
                        chunk,
                    ).fetchall()
                source.close()
            except sqlite3.Error as error:
                log.warning("cache %s not read (%s): its answers will be asked again", other, error)
                continue
            with self.lock:
                self.db.executemany("INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?)", found)
                self.db.commit()
            adopted += len(found)
            have = {row[0] for row in found}
            wanted = [key for key in wanted if key not in have]
        return adopted

    # --- batch mode: batches submitted and not yet collected, with the requests each carries ---------

    def ensure_batch_tables(self) -> None:
        with self.lock:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS batches (chunk_hash TEXT PRIMARY KEY, batch_id TEXT, input_file_id TEXT,"
                " status TEXT, created REAL)"
            )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS batch_requests (batch_id TEXT, request_hash TEXT,"
                " PRIMARY KEY (batch_id, request_hash))"
            )
            self.db.commit()

    def record_batch(self, chunk_hash: str, batch_id: str, input_file_id: str, status: str, keys) -> None:
        """A submitted batch and its request hashes, committed before anything else happens."""
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)",
                (chunk_hash, batch_id, input_file_id, status, time.time()),
            )
            self.db.executemany("INSERT OR IGNORE INTO batch_requests VALUES (?, ?)", [(batch_id, k) for k in keys])
            self.db.commit()

    def pending_batches(self, keys: set[str]) -> dict[str, set[str]]:
        """Submitted, not yet collected batches that carry any of `keys`: batch id -> its request hashes."""
        with self.lock:
            found = self.db.execute(
                "SELECT b.batch_id, r.request_hash FROM batches b JOIN batch_requests r ON b.batch_id = r.batch_id"
                " WHERE b.status != 'collected'"
            ).fetchall()
        carried: dict[str, set[str]] = {}
        for batch_id, key in found:
            carried.setdefault(batch_id, set()).add(key)
        return {batch_id: hashes for batch_id, hashes in carried.items() if hashes & keys}

    def mark_collected(self, batch_id: str) -> None:
        with self.lock:
            self.db.execute("UPDATE batches SET status = 'collected' WHERE batch_id = ?", (batch_id,))
            self.db.commit()

    def __len__(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def cache_files(cache_dir: str, teacher: str, shard: str) -> tuple[Path, list[Path]]:
    """(the file this shard writes, the other files whose answers it may reuse).

    Unsharded runs write `teacher-responses.sqlite`; shard i of n writes its own file under
    `teacher-responses.d/`, so that no two jobs (perhaps on two machines) share one SQLite file.
    """
    from ..shards import parse_shard

    main = Path(cache_dir) / "teacher-responses.sqlite"
    folder = Path(cache_dir) / "teacher-responses.d"
    index, count = parse_shard(shard)
    own = main if count == 1 else folder / f"{teacher}.shard-{index}-of-{count}.sqlite"
    others = [path for path in [main, *sorted(folder.glob("*.sqlite"))] if path != own and path.exists()]
    return own, others

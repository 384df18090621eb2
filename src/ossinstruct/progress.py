"""Progress of a long job: done of total, rate and time left.

On a terminal it is a tqdm bar; otherwise (a Snakemake job, a SLURM job: stderr is a file) a log
line through `logging`, so it lands in the job's log: at the start, every `every_s` seconds, and
at the end, e.g.
`categories: 12,800/75,000 rows (17.1%), 31.2 rows/s, 33 min 13 s left`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator

log = logging.getLogger("ossinstruct.progress")


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class Progress:
    """Call `advance(n)` as work is done (from any thread); `close()` (or leave the `with` block) at the end."""

    def __init__(
        self, total: int, what: str, unit: str = "rows", every_s: float = 30.0, terminal: bool | None = None
    ) -> None:
        self.total, self.what, self.unit, self.every_s = int(total), what, unit, every_s
        self.done = 0
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()
        self.closed = False
        self.bar = None
        if terminal if terminal is not None else sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=what, unit=unit, mininterval=1.0, smoothing=0.05, dynamic_ncols=True)
        else:
            log.info("%s: 0/%s %s", what, f"{self.total:,}", unit)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,}/{self.total:,} {self.unit}"
        if self.total:
            text += f" ({100 * self.done / self.total:.1f}%)"
        text += f", {rate:.1f} {self.unit}/s"
        if self.done >= self.total:
            return text + f", done in {duration(elapsed)}"
        if rate > 0:
            text += f", {duration((self.total - self.done) / rate)} left"
        return text

    def advance(self, n: int = 1, **postfix) -> None:
        with self.lock:
            self.done += n
            if self.bar is not None:
                self.bar.update(n)
                if postfix:
                    self.bar.set_postfix(refresh=False, **postfix)
                return
            now = time.monotonic()
            if now - self.last >= self.every_s and self.done < self.total:
                self.last = now
                extra = "".join(f", {key} {value}" for key, value in postfix.items())
                log.info("%s%s", self.line(), extra)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.bar is not None:
                self.bar.close()
            else:
                log.info("%s", self.line())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tracked(items: Iterable, total: int, what: str, unit: str = "rows", every_s: float = 30.0) -> Iterator:
    """`items`, one `advance` per item taken."""
    with Progress(total, what, unit, every_s) as progress:
        for item in items:
            yield item
            progress.advance()

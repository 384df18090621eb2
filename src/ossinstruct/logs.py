"""Every job logs to its rule's log file, and a fatal error is written there too, not only to stderr."""

from __future__ import annotations

import logging
import sys


def setup_logging(path: str | None = None) -> None:
    """Log to the rule's log file; a fatal error is written there too, not only to stderr."""
    handlers = [logging.FileHandler(path, mode="w")] if path else [logging.StreamHandler()]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    for noisy in ("httpx", "httpx2"):  # one INFO line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if path:
        previous = sys.excepthook

        def log_fatal(kind, error, trace):
            logging.getLogger("ossinstruct").error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))
            previous(kind, error, trace)

        sys.excepthook = log_fatal

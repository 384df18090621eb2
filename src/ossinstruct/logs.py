"""Every job logs to its rule's log file, and a fatal error is written there too, not only to stderr."""

from __future__ import annotations

import logging
import os
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
    if os.environ.get("OSSINSTRUCT_HUB_OFFLINE"):  # hub.set_offline: this job reads only the cache
        logging.getLogger("ossinstruct").info(
            "hub.offline: HF_HUB_OFFLINE=1, reading only the Hugging Face cache (HF_HOME=%s)", os.environ.get("HF_HOME")
        )
    for noisy in ("httpx", "httpx2"):  # one INFO line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if path:
        previous = sys.excepthook

        def log_fatal(kind, error, trace):
            logging.getLogger("ossinstruct").error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))
            previous(kind, error, trace)

        sys.excepthook = log_fatal

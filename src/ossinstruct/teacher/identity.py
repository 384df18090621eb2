"""Which teacher answered: the part of every cache key that tells one endpoint's weights from another's
(`teacher.cache_identity`).

A served teacher (llama.cpp, vLLM, SGLang) is keyed by the file or folder of its weights. Behind any
other OpenAI-compatible API (`server: openai`) the weights are out of sight, so the key is the endpoint
(`base_url`) and the server's own `/models` entry for the model. That entry changes with the weights
on the servers people run: Ollama stamps `created` with the time the model was pulled, llama.cpp's
server lists the weights' size and parameter count, vLLM the folder it serves, a hosted API its
model's creation date. Some servers stamp a listing with the time of the request (vLLM, llama.cpp)
or with random ids (vLLM's `permission`), so the entry is read twice, a second apart, and only what
both readings agree on is kept. The `system_fingerprint` a hosted API sends comes with each answer,
after the key is made: it is kept in every row and the report counts the distinct values.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

from .errors import TeacherError

log = logging.getLogger(__name__)

SECOND_READING_AFTER_S = 1.1  # listings stamped with the time of the request differ after a second


_DIFFERENT = object()


def stable(first, second):
    """What two readings of one listing agree on: equal values, and of two objects their stable keys."""
    if isinstance(first, dict) and isinstance(second, dict):
        kept = {}
        for key in first.keys() & second.keys():
            value = stable(first[key], second[key])
            if value is not _DIFFERENT:
                kept[key] = value
        return kept
    return first if first == second else _DIFFERENT


def read_models(base_url: str, api_key: str, timeout_s: float = 10.0) -> list[dict] | None:
    """The server's `/models` list; None when it answers without one (an HTTP error, not JSON)."""
    request = urllib.request.Request(base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            listing = json.loads(response.read())
    except urllib.error.HTTPError:
        return None  # it answered (perhaps 401/404): reachable; the chat request reports the rest
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TeacherError(f"teacher at {base_url} is unreachable: {reason}") from None
    except ValueError:
        return None
    data = listing.get("data") if isinstance(listing, dict) else None
    return [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else None


def endpoint_identity(
    base_url: str, api_key: str, model: str, pause_s: float = SECOND_READING_AFTER_S
) -> tuple[str, dict | None]:
    """(the fingerprint of `model` at `base_url`, the stable `/models` entry it was made from or None).

    Raises TeacherError when the server does not answer at all (before any work)."""
    endpoint = base_url.rstrip("/")
    first = read_models(base_url, api_key)
    entry = _entry(first, model)
    if entry is not None:
        time.sleep(pause_s)
        entry = stable(entry, _entry(read_models(base_url, api_key), model))
    if not isinstance(entry, dict) or not entry:
        log.warning(
            "the teacher at %s does not list model %r at /models: its answers are cached under the endpoint and "
            "the model's name only, so new weights behind the same name would not be noticed",
            endpoint,
            model,
        )
        entry = None
    described = json.dumps(entry, sort_keys=True, separators=(",", ":")) if entry is not None else model
    return f"openai:{endpoint}:{described}", entry


def _entry(listing: list[dict] | None, model: str) -> dict | None:
    for entry in listing or []:
        if entry.get("id") == model:
            return entry
    return None

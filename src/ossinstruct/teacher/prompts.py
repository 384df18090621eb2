"""The paper's prompts (magicoder `generate_data.py`, `data/prompt.txt`) and the request built from a seed.

A request's identity (`request_hash`) is what was asked and of which model, not where it was sent:
it keys the answer cache.
"""

from __future__ import annotations

import hashlib
import json

# The paper's prompts, verbatim (magicoder `generate_data.py` and `data/prompt.txt`).
SYSTEM_PROMPT = (
    "You are exceptionally skilled at crafting high-quality programming problems and offering precise solutions."
)


USER_PROMPT = """Please gain inspiration from the following random code snippet to create a high-quality programming problem. Present your output in two distinct sections: [Problem Description] and [Solution].

Code snippet for inspiration:
```
{code}
```

Guidelines for each section:

1. [Problem Description]: This should be **completely self-contained**, providing all the contextual information one needs to understand and solve the problem. Assume common programming knowledge, but ensure that any specific context, variables, or code snippets pertinent to this problem are explicitly included.

2. [Solution]: Offer a comprehensive, **correct** solution that accurately addresses the [Problem Description] you provided."""


# `demonstration: one_shot` (not the paper's): one worked exchange before the real prompt, for weak
# local teachers that otherwise rarely answer in the two-section format.
DEMONSTRATION_SEED = "def area(r):\n    return 3.14159 * r * r\n"


DEMONSTRATION_ANSWER = """[Problem Description]
Write a Python function `circle_area(radius)` that returns the area of a circle with the given radius. The radius is a non-negative float; use `math.pi` for the value of pi.

[Solution]
```python
import math


def circle_area(radius: float) -> float:
    return math.pi * radius * radius
```"""


# The paper's budget: max_tokens = min(max_new_tokens, context_length - prompt tokens - margin).
ERROR_MARGIN = 10


def user_prompt(seed: str) -> str:
    return USER_PROMPT.format(code=seed)


def build_messages(seed: str, demonstration: str = "none", system_role: str = "system") -> list[dict]:
    """The paper's system and user messages (after a worked exchange with `one_shot`). With
    `system_role: merge` the system text opens the first user turn instead, separated by a blank
    line, for chat templates that reject a system role (Mixtral-8x7B-Instruct's raises on one)."""
    messages = []
    if demonstration == "one_shot":
        messages += [
            {"role": "user", "content": user_prompt(DEMONSTRATION_SEED)},
            {"role": "assistant", "content": DEMONSTRATION_ANSWER},
        ]
    elif demonstration != "none":
        raise ValueError(f"teacher.demonstration: unknown value {demonstration!r} (none, one_shot)")
    messages.append({"role": "user", "content": user_prompt(seed)})
    if system_role == "system":
        return [{"role": "system", "content": SYSTEM_PROMPT}, *messages]
    if system_role != "merge":
        raise ValueError(f"teacher.system_role: unknown value {system_role!r} (system, merge)")
    return [{"role": "user", "content": SYSTEM_PROMPT + "\n\n" + messages[0]["content"]}, *messages[1:]]


def max_tokens_for(prompt_tokens: int, max_new_tokens: int, context_length: int) -> int:
    return min(max_new_tokens, context_length - prompt_tokens - ERROR_MARGIN)


def request_body(row: dict, settings: dict, max_tokens: int, messages: list[dict] | None = None) -> dict:
    """The request for `row`: the paper's messages for its seed, or `messages` (another step's prompt)."""
    body = {
        "model": settings["model"],
        "messages": messages or build_messages(row["seed"], settings["demonstration"], settings["system_role"]),
        "temperature": settings["temperature"],
        "max_tokens": max_tokens,
        "n": 1,
        "seed": settings["seed"] + row["index"],
    }
    body.update(settings["extra_body"])
    return body


def request_hash(body: dict, model_fingerprint: str = "") -> str:
    """Identity of a request: what was asked and of which model (not where it was sent)."""
    canonical = json.dumps({"body": body, "model_fingerprint": model_fingerprint}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

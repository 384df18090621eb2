"""The code EvalPlus runs, cut out of a model's output (method §7).

Two sanitisers, `evaluate.sanitizer`:
- `lines`: the line-based rule of EvalPlus's `tools/sanitize.py` at commit 1895d2f, the one the paper
  ran on its MBPP(+) samples. (The EvalPlus leaderboard's MBPP base rows of 2023-11-24 used the older
  e650fda version, which cut at a stray closing fence even without an opening one and dropped only an
  unparsable last function; its HumanEval base rows were cut at the codegen's stop strings first,
  `evaluate.completion_stop: leaderboard`.) Rewritten here from its description: keep what
  precedes the first `def <entry_point>` (imports, helpers), the entry point, and what follows it
  up to the first unindented line that does not start a function; then drop the other functions
  that do not parse. A fenced block (```python or ```) in the output is
  taken instead of the whole text; a three-space indent is widened to four.
- `tree_sitter`: `evalplus.sanitize.sanitize` of evalplus 0.3.1 (the entry point and what it needs,
  found in a syntax tree).
"""

from __future__ import annotations

import ast

SANITIZERS = ("lines", "tree_sitter")


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, MemoryError, ValueError):
        return False
    return True


def _four_space_indents(code: str) -> str:
    return "".join((" " if len(line) - len(line.lstrip()) == 3 else "") + line + "\n" for line in code.splitlines())


def _cut_at_unindented(code: str, keep_starts: tuple[str, ...] = ("def ",)) -> str:
    lines = code.splitlines()
    cut = None
    for i, line in enumerate(lines):
        if line.startswith(keep_starts) or not line.strip():
            continue
        if len(line) - len(line.lstrip()) == 0:
            cut = i
            break
    return "\n".join(lines[:cut])


def sanitize_lines(code: str, entry_point: str, humaneval_prompt: str | None = None) -> str:
    """EvalPlus 1895d2f's `tools/sanitize.py` on one solution. `humaneval_prompt`: for HumanEval,
    whose prompt's own imports are put back in front of the entry point."""
    new_code = "\n" + code
    for block in ("\n```python\n", "\n```\n"):  # a chat answer: the first fenced block
        chunks = new_code.split(block, maxsplit=1)
        if len(chunks) > 1:
            new_code = "\n" + chunks[-1].split("\n```", maxsplit=1)[0]
    def_left = "def " + entry_point
    if humaneval_prompt is not None:
        imports = humaneval_prompt.split(def_left)[0]
        new_code = imports + def_left + new_code.split(def_left, maxsplit=1)[-1]
    chunks = new_code.split(def_left)  # what precedes the entry point, then the entry point's parts
    new_code = def_left + def_left.join(chunks[1:])
    new_code = _cut_at_unindented(_four_space_indents(new_code))
    new_code = chunks[0] + new_code
    parts = new_code.split("\ndef ")
    kept = [parts[0]] + [
        part
        for part in parts[1:]
        if part.strip().startswith((entry_point + " ", entry_point + "(")) or _parses("\ndef " + part)
    ]
    return "\ndef ".join(kept).strip()


def sanitize(code: str, entry_point: str, sanitizer: str, humaneval_prompt: str | None = None) -> str:
    if sanitizer == "lines":
        return sanitize_lines(code, entry_point, humaneval_prompt)
    if sanitizer == "tree_sitter":
        from evalplus.sanitize import sanitize as evalplus_sanitize

        return evalplus_sanitize(code, entry_point)
    raise ValueError(f"config key 'evaluate.sanitizer': unknown value {sanitizer!r} ({', '.join(SANITIZERS)})")

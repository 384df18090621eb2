"""Data for the paper's ablations (method §8): the language split of Table 5 and the
comment-function pairs of Table 6.

Table 5 splits the curated OSS-Instruct rows into Python and non-Python by whether the text holds
"```python" (the paper's rule: about 43K vs 32K). The `conservative` variant also asks the seed's
language to agree, and sets aside the rows where the two disagree.

Table 6 compares OSS-Instruct with the plainest use of the same seed documents: pairs of a
function's comment (or docstring) and the function, extracted with tree-sitter, as
problem/solution rows that the SFT stage turns into instruction data like any other.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence

from .parse import step_report

log = logging.getLogger(__name__)

PYTHON_FENCE = "```python"


def split_by_language(rows: Sequence[dict], rule: str = "paper") -> tuple[list[dict], list[dict], list[dict], dict]:
    """(python rows, other rows, rows set aside with `reason`, report)."""
    python, other, aside = [], [], []
    for row in rows:
        fenced = PYTHON_FENCE in row["problem"] or PYTHON_FENCE in row["solution"]
        if rule == "paper":
            (python if fenced else other).append(row)
        elif rule == "conservative":
            seed_python = row.get("lang") == "python"
            if fenced and seed_python:
                python.append(row)
            elif not fenced and not seed_python:
                other.append(row)
            else:
                reason = "python_fence_non_python_seed" if fenced else "python_seed_without_python_fence"
                aside.append({**row, "reason": reason})
        else:
            raise ValueError(f"language split rule {rule!r}: unknown (paper, conservative)")
    report = {
        "rule": rule,
        "rows_in": len(rows),
        "python": len(python),
        "other": len(other),
        "set_aside": len(aside),
        "set_aside_by_reason": dict(Counter(row["reason"] for row in aside)),
        "python_by_seed_language": dict(Counter(row.get("lang") for row in python)),
        "other_by_seed_language": dict(Counter(row.get("lang") for row in other)),
    }
    return python, other, aside, report


# --- comment-function pairs ----------------------------------------------------------------------

# language -> (grammar module, its language function, function node types)
GRAMMARS = {
    "python": ("tree_sitter_python", "language", {"function_definition"}),
    "cpp": ("tree_sitter_cpp", "language", {"function_definition"}),
    "java": ("tree_sitter_java", "language", {"method_declaration", "constructor_declaration"}),
    "typescript": ("tree_sitter_typescript", "language_typescript", {"function_declaration", "method_definition"}),
    "shell": ("tree_sitter_bash", "language", {"function_definition"}),
    "csharp": ("tree_sitter_c_sharp", "language", {"method_declaration", "constructor_declaration"}),
    "rust": ("tree_sitter_rust", "language", {"function_item"}),
    "php": ("tree_sitter_php", "language_php", {"function_definition", "method_declaration"}),
    "swift": ("tree_sitter_swift", "language", {"function_declaration"}),
}
COMMENT_TYPES = {"comment", "line_comment", "block_comment", "multiline_comment"}


def parser_for(lang: str):
    """A tree-sitter parser for a seed language, or None when no grammar is installed for it."""
    if lang not in GRAMMARS:
        return None
    module_name, function, _ = GRAMMARS[lang]
    try:
        from tree_sitter import Language, Parser

        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Parser(Language(getattr(module, function)()))


def comment_text(raw: str) -> str:
    """A comment without its markers: //, /* */, /** */, #, ///, and leading * of block lines."""
    lines = []
    for line in raw.splitlines():
        line = line.strip()
        for prefix in ("/**", "/*", "///", "//", "#"):
            if line.startswith(prefix):
                line = line[len(prefix) :]
                break
        if line.endswith("*/"):
            line = line[:-2]
        line = line.strip()
        if line.startswith("* ") or line == "*":
            line = line[1:].strip()
        lines.append(line)
    return "\n".join(lines).strip()


def python_docstring(function) -> str | None:
    body = function.child_by_field_name("body")
    if body is None or not body.named_children:
        return None
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
        text = first.named_children[0].text.decode("utf-8", "replace")
        for quote in ('"""', "'''", '"', "'"):
            if text.startswith(quote) and text.endswith(quote) and len(text) >= 2 * len(quote):
                return inspect.cleandoc(text[len(quote) : -len(quote)])
    return None


def _functions(node, types: set[str]) -> Iterable:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in types:
            yield current
        stack.extend(reversed(current.named_children))


def comment_function_pairs(text: str, lang: str, parser=None) -> list[tuple[str, str]]:
    """(comment, function source) for every function with a comment right above it (or, in
    Python, a docstring), in document order."""
    parser = parser or parser_for(lang)
    if parser is None:
        return []
    source = text.encode("utf-8")
    tree = parser.parse(source)
    pairs = []
    for function in _functions(tree.root_node, GRAMMARS[lang][2]):
        # From the start of its line, dedented: a method reads like a top-level function.
        indent = " " * function.start_point[1]
        code = textwrap.dedent(indent + source[function.start_byte : function.end_byte].decode("utf-8", "replace"))
        comment = python_docstring(function) if lang == "python" else None
        if not comment:
            # Comments directly above, without a blank line between (several line comments join).
            block, below = [], function
            previous = function.prev_named_sibling
            while previous is not None and previous.type in COMMENT_TYPES:
                if below.start_point[0] - previous.end_point[0] > 1:
                    break
                block.insert(0, previous.text.decode("utf-8", "replace"))
                below, previous = previous, previous.prev_named_sibling
            comment = comment_text("\n".join(block)) if block else None
        if comment:
            pairs.append((comment, code))
    return pairs


def extract_pairs(documents_by_lang: dict[str, Sequence]) -> tuple[list[dict], dict]:
    """problem/solution rows from the seed documents of every language; report by language."""
    rows: list[dict] = []
    report: dict = {"languages": {}, "no_grammar": []}
    for lang, documents in documents_by_lang.items():
        parser = parser_for(lang)
        if parser is None:
            report["no_grammar"].append(lang)
            log.warning("comment-function pairs: no tree-sitter grammar installed for %s", lang)
            continue
        found = 0
        for number, document in enumerate(documents):
            for index, (comment, code) in enumerate(comment_function_pairs(document.text, lang, parser)):
                rows.append({"id": f"{lang}-cf-{number}-{index}", "lang": lang, "source": document.source,
                             "problem": comment, "solution": code})  # fmt: skip
                found += 1
        report["languages"][lang] = {"documents": len(documents), "pairs": found}
    report["pairs"] = len(rows)
    return rows, report


def dedup_pairs(rows: Sequence[dict]) -> tuple[list[dict], list[dict], dict]:
    """Exact duplicates (whitespace removed) of a pair's comment or code go, first wins."""
    from .clean import first_wins

    kept, excluded = first_wins(rows, ("problem", "solution"))
    return kept, excluded, step_report("dedup_pairs", kept, excluded)

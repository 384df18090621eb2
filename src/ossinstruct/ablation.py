"""Data for the paper's ablations (method §8): the language split of Table 5 and the
comment-function pairs of Table 6.

Table 5 splits the curated OSS-Instruct rows into Python and non-Python by whether the text holds
"```python" (the paper's rule: about 43K vs 32K). The `conservative` variant also asks the seed's
language to agree, and sets aside the rows where the two disagree.

Table 6 compares OSS-Instruct with the plainest use of the same seed documents: pairs of a
function's comment (or docstring) and the function, extracted with tree-sitter from the documents
the seeds came from, trained in completion format (comment + signature as the prompt, the body as
the target, no instruction template).
"""

from __future__ import annotations

import importlib
import logging
import random
from collections import Counter
from collections.abc import Sequence

from .io import read_jsonl, write_json, write_jsonl
from .streams import step_report

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
# As the paper's `experiments/extract_function_comment_pairs.py` and `train_comment_code_pairs.py`
# describe them: per seed, the functions of the document it came from, each with its docstring
# (Python) or the comment group right above it (other languages, only whitespace between), reduced to
# its summary; then a prompt (the comment as `///` lines, or `###` for shell, and the function's first
# line; in Python the function up to the end of its docstring) and a completion (the rest).

# language -> (grammar module, its language function, function node types, comment node types)
GRAMMARS = {
    "python": ("tree_sitter_python", "language", {"function_definition"}, {"comment"}),
    "cpp": ("tree_sitter_cpp", "language", {"function_definition"}, {"comment"}),
    "java": ("tree_sitter_java", "language", {"method_declaration"}, {"comment", "block_comment", "line_comment"}),
    "typescript": (
        "tree_sitter_typescript",
        "language_typescript",
        {"function_declaration", "method_definition"},
        {"comment"},
    ),
    "shell": ("tree_sitter_bash", "language", {"function_definition"}, {"comment"}),
    "csharp": ("tree_sitter_c_sharp", "language", {"method_declaration"}, {"comment"}),
    "rust": ("tree_sitter_rust", "language", {"function_item"}, {"line_comment", "block_comment"}),
    "php": ("tree_sitter_php", "language_php", {"method_declaration"}, {"comment"}),
    "swift": ("tree_sitter_swift", "language", {"function_declaration"}, {"comment", "multiline_comment"}),
}


def parser_for(lang: str):
    """A tree-sitter parser for a seed language, or None when no grammar is installed for it."""
    if lang not in GRAMMARS:
        return None
    module_name, function = GRAMMARS[lang][:2]
    try:
        from tree_sitter import Language, Parser

        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Parser(Language(getattr(module, function)()))


def strip_comment_markers(comment: str) -> str:
    """Each line without its `*/`, then a leading `*`, `/**`, `/*`, `///` or `//` (the paper's order)."""
    cleaned = []
    for line in comment.split("\n"):
        line = line.strip()
        if line.endswith("*/"):
            line = line[:-2]
        for marker in ("*", "/**", "/*", "///", "//"):
            if line.startswith(marker):
                line = line[len(marker) :]
                break
        cleaned.append(line.strip())
    return "\n".join(cleaned)


def comment_summary(text: str) -> str:
    """The first paragraph, else what precedes a JavaDoc-style `@`."""
    if "\n\n" in text:
        return text.split("\n\n")[0]
    if "@" in text:
        return text[: text.find("@")]
    return text


def _nodes(root, types: set[str]) -> list:
    """Nodes of these types, in document order (pre-order)."""
    found, stack = [], list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type in types:
            found.append(node)
        stack.extend(reversed(node.children))
    return found


def _last_line(node) -> int:
    """The row of a node's last character (newer grammars end a line comment with its line break)."""
    return (
        node.end_point[0] - 1
        if node.end_point[1] == 0 and node.end_point[0] > node.start_point[0]
        else node.end_point[0]
    )


def _comment_groups(code: bytes, comments: list) -> list[dict]:
    """Comments sorted by their last line, joined when only one line break separates them."""
    comments = sorted(comments, key=_last_line)
    groups: list[list] = []
    for node in comments:
        if groups:
            previous = groups[-1][-1]
            gap = code[previous.end_byte : node.start_byte].decode("utf-8", "replace")
            breaks = gap.count("\n") + previous.text.endswith(b"\n")
            if not gap.strip() and breaks == 1:
                groups[-1].append(node)
                continue
        groups.append([node])
    return [
        {
            "text": "\n".join(n.text.decode("utf-8", "replace").rstrip("\n") for n in group),
            "last_line": _last_line(group[-1]),
            "end_byte": group[-1].end_byte,
        }
        for group in groups
    ]


def _docstring(function, code: bytes, lang: str, groups: list[dict]) -> str:
    if lang == "python":
        for block in (child for child in function.children if child.type == "block"):
            strings = [n for n in block.children if n.type == "expression_statement" and n.children[0].type == "string"]
            if strings:
                raw = strings[0].text.decode("utf-8", "replace").strip().strip('"').strip("'")
                return comment_summary(strip_comment_markers(raw)).strip()
        return ""
    above = [group for group in groups if group["last_line"] < function.start_point[0]]
    if above and not code[above[-1]["end_byte"] : function.start_byte].decode("utf-8", "replace").strip():
        return comment_summary(strip_comment_markers(above[-1]["text"])).strip()
    return ""


def to_completion_pair(docstring: str, function: str, lang: str) -> dict | None:
    """(prompt, completion) for one function, or None where the paper's preprocessing drops it."""
    docstring, code = docstring.strip(), function.strip()
    if not docstring or docstring.count(docstring[0]) == len(docstring):
        return None
    if lang == "python":
        quote = '"""' if code.count('"""') >= 2 else "'''" if code.count("'''") >= 2 else None
        if quote is None:
            return None
        end = code.index(quote, code.index(quote) + 3)
        return {"prompt": code[: end + 3], "completion": code[end + 3 :]}
    prefix = "### " if lang == "shell" else "/// "
    lines = code.splitlines(keepends=True)
    prompt = "".join(prefix + line for line in docstring.splitlines(keepends=True)) + "\n" + "".join(lines[:1])
    return {"prompt": prompt, "completion": "".join(lines[1:])}


def seed_function_pairs(seed: dict, text: str, parser) -> list[dict]:
    """Every function of the seed's document with a docstring or comment, as a prompt/completion row;
    `covered` when the function shares a line with the seed snippet."""
    lang = seed["lang"]
    code = text.encode("utf-8")
    tree = parser.parse(code)
    _, _, function_types, comment_types = GRAMMARS[lang]
    groups = [] if lang == "python" else _comment_groups(code, _nodes(tree.root_node, comment_types))
    first, last = seed["start_line"], seed["start_line"] + seed["n_lines"] - 1  # 0-based, inclusive
    rows = []
    for number, function in enumerate(_nodes(tree.root_node, function_types)):
        source = code[function.start_byte : function.end_byte].decode("utf-8", "replace")
        pair = to_completion_pair(_docstring(function, code, lang, groups), source, lang)
        if pair is None:
            continue
        covered = function.start_point[0] <= last and function.end_point[0] >= first
        rows.append(
            {
                "id": f"{seed['id']}-cf-{number}",
                "lang": lang,
                "seed_id": seed["id"],
                "source": seed["source"],
                "covered": covered,
                **pair,
            }
        )
    return rows


def extract_pairs(seeds: Sequence[dict], documents: dict[str, str]) -> tuple[list[dict], dict]:
    """Prompt/completion rows from the documents the seeds came from (`documents`: source -> text)."""
    rows: list[dict] = []
    report: dict = {"languages": {}, "no_grammar": []}
    parsers: dict = {}
    for seed in seeds:
        lang = seed["lang"]
        if lang not in parsers:
            parsers[lang] = parser_for(lang)
            if parsers[lang] is None:
                report["no_grammar"].append(lang)
                log.warning("comment-function pairs: no tree-sitter grammar installed for %s", lang)
        if parsers[lang] is None:
            continue
        found = seed_function_pairs(seed, documents[seed["source"]], parsers[lang])
        counts = report["languages"].setdefault(lang, {"documents": 0, "pairs": 0, "covered": 0})
        counts["documents"] += 1
        counts["pairs"] += len(found)
        counts["covered"] += sum(row["covered"] for row in found)
        rows.extend(found)
    report["pairs"] = len(rows)
    return rows, report


def select_pairs(rows: Sequence[dict], max_pairs: int | None, seed: int) -> tuple[list[dict], dict]:
    """The paper's selection: every pair that overlaps a seed snippet, then a seeded sample of the
    others up to `max_pairs` (None: all of them), shuffled with the same generator."""
    rng = random.Random(seed)
    covered = [row for row in rows if row["covered"]]
    others = [row for row in rows if not row["covered"]]
    wanted = len(others) if max_pairs is None else max(0, max_pairs - len(covered))
    sampled = rng.sample(others, k=min(wanted, len(others)))
    chosen = (covered + sampled)[: max_pairs if max_pairs is not None else None]
    rng.shuffle(chosen)
    return chosen, {
        "covered": len(covered),
        "others": len(others),
        "sampled_others": len(sampled),
        "rows_out": len(chosen),
        "shortfall": max(0, wanted - len(others)),
    }


def dedup_pairs(rows: Sequence[dict]) -> tuple[list[dict], list[dict], dict]:
    """Exact duplicates (whitespace removed) of a pair's prompt or completion go, first wins (not the paper's)."""
    from .clean import first_wins

    kept, excluded = first_wins(rows, ("prompt", "completion"))
    return kept, excluded, step_report("dedup_pairs", kept, excluded)


def run_language_split(*, decontaminated: str, python: str, other: str, aside: str, report: str, split: str) -> None:
    """Table 5's data: the curated rows split by language under the `paper` or `conservative` rule."""
    py_rows, other_rows, aside_rows, summary = split_by_language(read_jsonl(decontaminated), split)
    write_jsonl(python, py_rows)
    write_jsonl(other, other_rows)
    write_jsonl(aside, aside_rows)
    write_json(report, summary)


def run_comment_function_pairs(
    *, seeds: str, documents: str, output: str, excluded: str, report: str, settings: dict
) -> None:
    """Table 6's baseline data: comment-function pairs from the documents the seeds came from, those
    overlapping a seed snippet first, then a seeded sample of the rest up to `max_pairs`."""
    texts = {row["source"]: row["content"] for row in read_jsonl(documents)}
    rows, summary = extract_pairs(read_jsonl(seeds), texts)
    dropped: list[dict] = []
    dedup = None
    if settings["dedup"]:
        rows, dropped, dedup = dedup_pairs(rows)
    kept, selection = select_pairs(rows, settings["max_pairs"], settings["seed"])
    if not kept:
        raise ValueError("comment-function pairs: no function with a docstring or comment in any seed document")
    write_jsonl(excluded, dropped)
    write_jsonl(output, kept)
    write_json(report, {**summary, "dedup": dedup, "selection": selection, "rows_out": len(kept)})

"""Static pages for `snakemake --report`, read from the explorer's databases: per teacher, the counts
by stage and reason and a few rows of each verdict, rendered; for the evaluations, each model's
per-task verdicts. Links open the same rows in the explorer (`ossinstruct explore`)."""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

EXPLORER = "http://127.0.0.1:8001"  # `ossinstruct explore`'s default address
SAMPLE = 3  # rows shown per verdict
SHOWN = 1500  # characters of a text shown on a page (the explorer has all of it)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 6px; margin: 2px 0; max-height: 18em; overflow: auto; }
.pass { background: #d8f5d8; } .fail { background: #f8d7d7; } .row { border: 1px solid #ddd; padding: 6px 10px;
margin: 6px 0; } code { background: #f0f0f0; }
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def block(value) -> str:
    text = "" if value is None else str(value)
    cut = text[:SHOWN] + ("\n..." if len(text) > SHOWN else "")
    return f"<pre>{esc(cut)}</pre>"


def row_path(*keys: str) -> str:
    """A row's path in Datasette: its primary key's values, each tilde-encoded (`HumanEval/0` is
    `HumanEval~2F0`), joined by commas."""
    from datasette.utils import tilde_encode

    return ",".join(tilde_encode(str(key)) for key in keys)


def link(path: str, query: dict | None = None, text: str = "open in the explorer") -> str:
    url = f"{EXPLORER}/{path}" + (f"?{urlencode(query)}" if query else "")
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def document(title: str, body: list[str]) -> str:
    how = (
        f"<p>These pages are a summary. For every row, search and facets, run <code>ossinstruct explore</code> "
        f'in the project folder and open <a href="{EXPLORER}">{EXPLORER}</a>.</p>'
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>{how}{''.join(body)}</body></html>\n"
    )


def write(path: str, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def teacher_page(database: str, page: str, teacher: str) -> None:
    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    total = db.execute("SELECT count(*) FROM rows").fetchone()[0]
    body = [
        f"<p>{total} seeds; {db.execute('SELECT count(*) FROM rows WHERE in_sft').fetchone()[0]} "
        f"reached the fine-tuning set. {link(f'{teacher}/rows')}</p>",
        "<h2>Where each seed stopped</h2>",
        "<table><tr><th>stage</th><th>verdict</th><th>rows</th><th></th></tr>",
    ]
    groups = db.execute(
        "SELECT coalesce(dropped_at, 'end') AS stage, coalesce(reason, 'kept') AS verdict, count(*) AS n, "
        "min(rowid) AS first FROM rows GROUP BY dropped_at, reason ORDER BY first"
    ).fetchall()
    for group in groups:
        query = (
            {"dropped_at": group["stage"], "reason": group["verdict"]}
            if group["stage"] != "end"
            else {"dropped_at__isnull": 1}
        )
        body.append(
            f"<tr><td>{esc(group['stage'])}</td><td>{esc(group['verdict'])}</td><td>{group['n']}</td>"
            f"<td>{link(f'{teacher}/rows', query)}</td></tr>"
        )
    body.append("</table><h2>A few rows of each verdict</h2>")
    for group in groups:
        where = "dropped_at = ? AND reason = ?" if group["stage"] != "end" else "dropped_at IS NULL"
        args = (group["stage"], group["verdict"]) if group["stage"] != "end" else ()
        body.append(f"<h3>{esc(group['stage'])}: {esc(group['verdict'])} ({group['n']})</h3>")
        for row in db.execute(f"SELECT * FROM rows WHERE {where} ORDER BY rowid LIMIT {SAMPLE}", args):
            body.append(row_block(row, teacher))
    db.close()
    write(page, document(f"OSS-Instruct data of {teacher}: every seed's journey", body))


def row_block(row: sqlite3.Row, teacher: str) -> str:
    facts = [
        f"<b>{esc(row['id'])}</b> ({esc(row['lang'])}, {esc(row['source'])})",
        f"reached {esc(row['stage_reached'])}",
        link(f"{teacher}/rows/{row_path(row['id'])}", None, "this row"),
    ]
    if row["duplicate_of"]:
        facts.append(f"duplicates {esc(row['duplicate_of'])}")
    if row["matched_string"] is not None:
        facts.append(f"matched {esc(row['benchmark_family'])} item {esc(row['matched_item'])}")
    if row["category"]:
        facts.append(
            f"category {esc(row['category'])}, similarity {esc(row['similarity'])} to {esc(row['nearest_humaneval'])}"
        )
    parts = [f'<div class="row"><p>{" · ".join(facts)}</p><p>seed</p>{block(row["seed"])}']
    if row["matched_string"] is not None:
        parts.append(f"<p>matched benchmark string</p>{block(row['matched_string'])}")
    if row["problem"] is not None:
        parts.append(f"<p>problem</p>{block(row['problem'])}<p>solution</p>{block(row['solution'])}")
    elif row["response"] is not None:
        parts.append(f"<p>the teacher's answer ({esc(row['finish_reason'])})</p>{block(row['response'])}")
    if row["validation_output"]:
        parts.append(f"<p>validation output</p>{block(row['validation_output'])}")
    return "".join(parts) + "</div>"


def eval_page(database: str, page: str) -> None:
    db = sqlite3.connect(database)
    db.row_factory = sqlite3.Row
    body = []
    for model in db.execute("SELECT * FROM models ORDER BY rowid").fetchall():
        name = model["model"]
        kind = f"{model['kind']}" + (f" of {model['base']} on {model['data']}" if model["base"] else "")
        body.append(f"<h2>{esc(name)} ({esc(kind)})</h2>")
        for (benchmark,) in db.execute(
            "SELECT DISTINCT benchmark FROM tasks WHERE model = ? ORDER BY benchmark", (name,)
        ).fetchall():
            tasks = db.execute(
                "SELECT * FROM tasks WHERE model = ? AND benchmark = ? ORDER BY rowid", (name, benchmark)
            ).fetchall()
            base = sum(t["passed_base"] for t in tasks)
            plus = sum(t["passed_plus"] for t in tasks)
            body.append(
                f"<h3>{esc(benchmark)}: base {base}/{len(tasks)}, plus {plus}/{len(tasks)} "
                f"{link('eval/tasks', {'model': name, 'benchmark': benchmark})}</h3>"
            )
            body.append(
                "<table><tr><th>task</th><th>base</th><th>plus</th><th>first failing input</th>"
                "<th>run again on it (tail)</th></tr>"
            )
            for t in tasks:
                cells = "".join(
                    f'<td class="{"pass" if t[c] == "pass" else "fail"}">{esc(t[c])}</td>'
                    for c in ("base_status", "plus_status")
                )
                where = link(f"eval/tasks/{row_path(t['model'], t['benchmark'], t['task_id'])}", None, t["task_id"])
                failing = esc((t["base_fail_input"] or t["plus_fail_input"] or "")[:120])
                replayed = esc((t["replay_output"] or "")[-200:])
                body.append(
                    f"<tr><td>{where}</td>{cells}<td><code>{failing}</code></td><td><code>{replayed}</code></td></tr>"
                )
            body.append("</table>")
    db.close()
    write(page, document("Per-task verdicts of every evaluated model", body))

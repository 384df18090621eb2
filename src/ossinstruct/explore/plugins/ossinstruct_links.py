"""Datasette plugin of the explorer (loaded with `--plugins-dir`): links between the databases.

In a teacher database, a HumanEval or MBPP item (`nearest_humaneval`, `matched_item`) links to that
task's completions in `eval`, and `duplicate_of` to the row it names; in `eval`, a task links to the
rows of each teacher database nearest to it or contaminated by it.
"""

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup, escape

EVAL = "eval"


def benchmark_of(item: str) -> str | None:
    if item.startswith("HumanEval/"):
        return "humaneval"
    if item.startswith("Mbpp/"):
        return "mbpp"
    return None


def anchor(url: str, text: str) -> Markup:
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')


@hookimpl
def render_cell(value, column, table, database, datasette):
    if not isinstance(value, str) or not value:
        return None
    if database != EVAL and column in ("nearest_humaneval", "matched_item") and EVAL in datasette.databases:
        benchmark = benchmark_of(value)
        if benchmark:
            query = urlencode({"benchmark": benchmark, "task_id": value})
            return anchor(f"{datasette.urls.table(EVAL, 'tasks')}?{query}", value)
    if database != EVAL and (column == "duplicate_of" or (column == "id" and table != "rows")):
        return anchor(datasette.urls.row(database, "rows", tilde_encode(value)), value)
    if database == EVAL and column == "task_id" and benchmark_of(value):
        links = [str(escape(value))]
        for name in datasette.databases:
            if name in (EVAL, "_internal"):
                continue
            near = f"{datasette.urls.table(name, 'rows')}?{urlencode({'nearest_humaneval': value})}"
            matched = f"{datasette.urls.table(name, 'rows')}?{urlencode({'matched_item': value})}"
            links.append(
                f'{escape(name)}: <a href="{escape(near)}">nearest rows</a>, '
                f'<a href="{escape(matched)}">contaminated rows</a>'
            )
        return Markup("<br>".join(links))
    return None

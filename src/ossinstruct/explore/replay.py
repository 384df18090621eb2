"""Why a solution failed: each failing EvalPlus solution run again, in the sandbox, on the first input
EvalPlus saw it fail (or just loaded, when EvalPlus recorded none: the program did not get that far),
keeping the tail of what it printed: the traceback, or the value it returned beside the value the
task's canonical solution returns on that input.

EvalPlus records failing inputs, not errors, so this is our replay, not EvalPlus's own run: the same
sanitised code and input, in our sandbox (`sandbox.py`: no network, a fresh folder, limits), with the
interpreter and site-packages EvalPlus used. MBPP+ inputs EvalPlus serialised for JSON (sets,
tuples) are passed as JSON gives them back (lists).
"""

from __future__ import annotations

import site
import sys
from concurrent.futures import ThreadPoolExecutor

from ..sandbox import Limits, Sandbox

TAIL = 2000  # characters of output kept
REPLAY = """import json, sys
sys.path.extend(sys.argv[2:])
namespace = {"__name__": "solution"}
exec(compile(open("solution.py").read(), "solution.py", "exec"), namespace)
inputs = json.load(open("input.json"))
if inputs is None:
    print("the solution loaded; EvalPlus recorded no failing input")
else:
    result = namespace[sys.argv[1]](*inputs)
    print("returned", repr(result)[:1000])
    reference = {"__name__": "reference"}
    exec(compile(open("reference.py").read(), "reference.py", "exec"), reference)
    print("expected", repr(reference[sys.argv[1]](*inputs))[:1000])
"""


def replay_failures(
    rows: list[dict], inputs: list[str | None], references: list[str], settings: dict, sandbox: dict | None
) -> None:
    """Sets `replay_output` of each row that did not pass (`inputs`: each row's first failing input as
    JSON, or None; `references`: the task's prompt + canonical solution, whose result on that input is
    printed as `expected`); `settings`: `timeout_s` and `workers`."""
    failing = [
        (row, given, ref) for row, given, ref in zip(rows, inputs, references, strict=True) if not row["passed_plus"]
    ]
    if not failing:
        return
    box = Sandbox("the explorer's replay of failing solutions", sandbox, slots=settings["workers"])
    limits = Limits(timeout_s=settings["timeout_s"], memory_bytes=1 << 30, processes=32, output_bytes=1 << 16)
    command = [sys.executable, "-I", "-S", "replay.py"]

    def replay(item: tuple[dict, str | None, str]) -> None:
        row, given, reference = item
        files = {"replay.py": REPLAY, "solution.py": row["solution"], "input.json": given or "null"}
        files["reference.py"] = reference
        outcome = box.run([*command, row["entry_point"] or "", *site.getsitepackages()], limits=limits, files=files)
        text = outcome.output.strip()
        if outcome.status == "timeout":
            text += f"\n(stopped after {settings['timeout_s']} s)"
        elif outcome.status != "exited" or outcome.returncode:
            text += f"\n({outcome.status}, exit code {outcome.returncode})"
        row["replay_output"] = text.strip()[-TAIL:]

    with ThreadPoolExecutor(max(1, settings["workers"])) as pool:
        list(pool.map(replay, failing))

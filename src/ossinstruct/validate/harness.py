"""Runs one Python pair inside the sandbox (this file is copied into the sandbox's folder and run
there by a fresh interpreter; it imports nothing of ossinstruct).

The solution (`solution.py`) is executed as the module `solution` (its `if __name__ == "__main__"`
block does not run, and the tests may `from solution import ...`), then the tests (`tests.py`) in
the same namespace as a script: their top-level asserts run. Then every `test_*` function is called
and every `unittest.TestCase` class is run. The verdict goes to `verdict` with a nonce the
code never sees (read and deleted before it runs), written last: a run that exits early, through
`sys.exit` (a `SystemExit`) or `os._exit`, or is killed, has no verdict and has not passed.
"""

import os
import sys
import types

# Imported only when needed: a short pair's run is mostly interpreter start-up and imports.
_write = open


def _format():
    import traceback

    return traceback.format_exc()


def _verdict(path, nonce, status, detail="", tests=0):
    """Lines: the nonce, the status, the tests run, then the detail (no json import)."""
    with _write(path, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(f"{nonce}\n{status}\n{tests}\n{detail[-2000:]}")


def _check(namespace):
    """(status, detail, tests run): `passed`, `failed` (a test failed or exited), `error` (the solution did not run)."""
    try:
        with _write("solution.py") as handle:
            exec(compile(handle.read(), "solution.py", "exec"), namespace)
    except SystemExit:
        return "error", "the solution exited (SystemExit) while it was being defined", 0
    except BaseException:
        return "error", _format(), 0
    namespace["__name__"] = "__main__"
    try:
        with _write("tests.py") as handle:
            exec(compile(handle.read(), "tests.py", "exec"), namespace)
    except SystemExit:
        return "failed", "the tests exited early (SystemExit) before they finished", 0
    except BaseException:
        return "failed", _format(), 0
    functions = [v for k, v in list(namespace.items()) if k.startswith("test_") and isinstance(v, types.FunctionType)]
    tests = 0
    for function in functions:
        tests += 1
        try:
            function()
        except SystemExit:
            return "failed", f"{function.__name__} exited early (SystemExit)", tests
        except BaseException:
            return "failed", f"{function.__name__}:\n{_format()}", tests
    unittest = sys.modules.get("unittest")  # tests without it define no TestCase
    cases = [
        v
        for v in list(namespace.values())
        if unittest
        and isinstance(v, type)
        and issubclass(v, unittest.TestCase)
        and not v.__module__.startswith("unittest")
    ]
    for case in cases:
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
        tests += result.testsRun
        problems = result.errors + result.failures + [(t, "unexpected success") for t in result.unexpectedSuccesses]
        if problems:
            test, detail = problems[0]
            return "failed", f"{test}:\n{detail}", tests
    return "passed", "", tests


def main():
    sys.path.extend(sys.argv[1:])  # this environment's site-packages (run with -S: no .pth processing)
    path = os.path.abspath("verdict")
    with _write("nonce") as handle:
        nonce = handle.read()
    os.remove("nonce")
    module = types.ModuleType("solution")
    sys.modules["solution"] = module
    status, detail, tests = _check(module.__dict__)
    try:
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001 - the output limit was reached: the verdict still counts
        pass
    _verdict(path, nonce, status, detail, tests)


if __name__ == "__main__":
    main()

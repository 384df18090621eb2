"""`python -m ossinstruct.evaluate.evalplus_runner --dataset D --samples S ...`: `evalplus.evaluate`'s command
line, ended as soon as the evaluation returns.

evalplus 0.3.1 starts a non-daemon watchdog thread that sleeps 20 s between checks, so its process
outlives every evaluation by up to 20 s (most of a small run's time). Its results file is written
before `evaluate` returns, so the process can end right then; an error still exits non-zero.
"""

import os
import sys
import traceback

if __name__ == "__main__":
    from evalplus.evaluate import main

    status = 0
    try:
        main()
    except SystemExit as error:
        status = error.code if isinstance(error.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported, then the process ends without waiting for the watchdog
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

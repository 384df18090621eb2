"""`python -m ossinstruct.evaluate.evalplus_runner --dataset D --samples S ...`: `evalplus.evaluate`'s command
line, ended as soon as the evaluation returns. `--ground-truth-only` computes the benchmark's
expected outputs from its own canonical solutions (trusted code) into evalplus's cache, as
`evaluate` would, so that the sandboxed evaluation only reads that cache.

evalplus 0.3.1 starts a non-daemon watchdog thread that sleeps 20 s between checks, so its process
outlives every evaluation by up to 20 s (most of a small run's time). Its results file is written
before `evaluate` returns, so the process can end right then; an error still exits non-zero.
"""

import os
import sys
import traceback


def ground_truth(dataset: str) -> None:
    """evalplus.evaluate's ground truth for `dataset`, in its cache (XDG_CACHE_HOME/evalplus)."""
    from evalplus.data import get_human_eval_plus, get_human_eval_plus_hash, get_mbpp_plus, get_mbpp_plus_hash
    from evalplus.evaluate import MBPP_OUTPUT_NOT_NONE_TASKS, get_groundtruth

    if dataset == "humaneval":
        get_groundtruth(get_human_eval_plus(), get_human_eval_plus_hash(), [])
    else:
        get_groundtruth(get_mbpp_plus(), get_mbpp_plus_hash(), MBPP_OUTPUT_NOT_NONE_TASKS)


def logged(items, total=None, **_):
    """evalplus's `tqdm(...)` calls: with a total, rate and time left logged (ossinstruct.progress)."""
    if total is None:
        return items
    import logging

    from ossinstruct.progress import tracked

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return tracked(items, total, "EvalPlus", "samples", every_s=10.0)


if __name__ == "__main__":
    status = 0
    try:
        if "--ground-truth-only" in sys.argv:
            ground_truth(sys.argv[sys.argv.index("--dataset") + 1])
        else:
            import evalplus.evaluate

            evalplus.evaluate.tqdm = logged  # its progress over the samples, as lines in the job's log
            evalplus.evaluate.main()
    except SystemExit as error:
        status = error.code if isinstance(error.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported, then the process ends without waiting for the watchdog
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

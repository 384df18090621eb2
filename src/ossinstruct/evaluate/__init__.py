"""Stage 6, evaluation (paper §4.1, method §7): EvalPlus HumanEval(+) and MBPP(+), greedy.

Writes `results/eval/{model}/{benchmark}/samples.jsonl` (`task_id`, `solution`, raw `completion`)
and `scores.json`. A model's `prompt_format` decides its prompts:
- `magicoder` (runs; the paper's `experiments/text2code.py`): the Magicoder template with the
  response pre-filled by an opening ```python fence (and, for HumanEval, the task's own prompt), the
  completion cut at the closing fence; HumanEval's solution is the task prompt + the completion, MBPP's
  is sanitised;
- `completion` (base models; the EvalPlus leaderboard protocol the paper's base rows come from): the
  task prompt alone, continued until the end-of-sequence token or `max_new_tokens`, the task prompt +
  the completion sanitised.
Model-generated code runs only inside EvalPlus's sandbox (time and memory limits), in a subprocess
with no network and a hard timeout.

- `prompts`: the prompts, stop strings and the solution cut out of a completion;
- `backends`: completions from a model served by llama.cpp or vLLM, or from transformers;
- `samples`: the stage's generation entry point (`run`, one shard of a benchmark's tasks);
- `scoring`: EvalPlus in its sandbox and the pass@1 scores (`run`, the merged shards);
- `evalplus_runner`: `evalplus.evaluate` in a process that ends when it returns.
"""


class EvaluationError(RuntimeError):
    pass

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
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .io import read_json, read_jsonl, write_jsonl
from .server import gpu_server, llama_cpp_pool, submit_with_clients
from .sft import prompt_text

log = logging.getLogger(__name__)

BENCHMARKS = ("humaneval", "mbpp")
OVERRIDE_VARIABLE = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}
FENCE = "```"


class EvaluationError(RuntimeError):
    pass


def humaneval_prompt(task: dict) -> tuple[str, str]:
    """(instruction, response prefix) for one HumanEval(+) task."""
    prompt = task["prompt"].strip()
    instruction = f"Write a solution to the following problem:\n```python\n{prompt}\n```"
    return instruction, f"```python\n{prompt}"


def mbpp_prompt(task: dict) -> tuple[str, str]:
    """(instruction, response prefix) for one MBPP(+) task: text up to the first assert + it."""
    prompt = task["prompt"]
    inner = prompt[prompt.index('"""') + 3 : prompt.rindex('"""')]
    cut = inner.index("assert")
    description = inner[:cut].strip()
    if not description.endswith("."):
        description += "."
    assertion = inner[cut:].strip()
    instruction = f"{description} Your code should satisfy the following assertion:\n```python\n{assertion}\n```"
    return instruction, "```python"


PROMPT_FORMATS = ("completion", "magicoder")


def build_prompt(benchmark: str, task: dict, bos_text: str = "", prompt_format: str = "magicoder") -> str:
    if prompt_format == "completion":
        return bos_text + task["prompt"]
    if prompt_format != "magicoder":
        raise ValueError(f"prompt_format: unknown value {prompt_format!r} ({', '.join(PROMPT_FORMATS)})")
    instruction, prefix = (humaneval_prompt if benchmark == "humaneval" else mbpp_prompt)(task)
    return bos_text + prompt_text(instruction, prefix)


# evalplus 0.3.1's stop strings for a base model's direct completion (`provider/utility.py`).
EVALPLUS_COMPLETION_STOP = ["\nif __name__", "\ndef main(", "\nprint("]
EVALPLUS_COMPLETION_STOP_BY_BENCHMARK = {
    "humaneval": ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert "],
    "mbpp": ['\n"""', "\nassert"],
}


def stop_strings(prompt_format: str, benchmark: str = "humaneval", completion_stop: str = "none") -> list[str]:
    """Where a completion ends besides the end-of-sequence token: the closing fence of the Magicoder
    format's pre-filled ```python block; for a plain completion nothing else (`completion_stop: none`,
    EvalPlus 1895d2f, the paper's base rows) or evalplus 0.3.1's stop strings (`evalplus`)."""
    if prompt_format == "magicoder":
        return [FENCE]
    if completion_stop == "evalplus":
        return EVALPLUS_COMPLETION_STOP + EVALPLUS_COMPLETION_STOP_BY_BENCHMARK[benchmark]
    if completion_stop != "none":
        raise ValueError(f"config key 'evaluate.completion_stop': unknown value {completion_stop!r} (none, evalplus)")
    return []


def to_solution(benchmark: str, task: dict, completion: str, prompt_format: str = "magicoder",
                sanitizer: str = "lines") -> str:  # fmt: skip
    """The code EvalPlus runs. Magicoder format: the completion up to the closing fence, after
    HumanEval's task prompt (as `evalplus.evaluate` joins a `completion`), MBPP's sanitised as
    `prompt + "\n" + completion` (as `tools/sanitize.py` reads one). Completion format: the task
    prompt + the completion, sanitised (the leaderboard's files were prompt + completion)."""
    from .sanitize import sanitize

    humaneval = task["prompt"] if benchmark == "humaneval" else None
    if prompt_format == "completion":
        return sanitize(task["prompt"] + completion, task["entry_point"], sanitizer, humaneval)
    code = completion.split(FENCE)[0]
    if benchmark == "humaneval":
        return task["prompt"] + code
    return sanitize(task["prompt"] + "\n" + code, task["entry_point"], sanitizer)


def gguf_bos_text(model_path: str | os.PathLike) -> str:
    """The BOS token's text, to start every prompt with it as training did (BOS + prompt).

    llama.cpp adds BOS itself only when the file says `add_bos_token`; the server parses special
    tokens in prompt text, so writing the token out gives the same token ids as in training.
    """
    import gguf

    reader = gguf.GGUFReader(str(model_path))
    if "tokenizer.ggml.bos_token_id" not in reader.fields:
        return ""
    add_bos = reader.fields.get("tokenizer.ggml.add_bos_token")
    if add_bos is not None and add_bos.contents():
        return ""
    bos_id = reader.fields["tokenizer.ggml.bos_token_id"].contents()
    return reader.fields["tokenizer.ggml.tokens"].contents()[bos_id]


def load_tasks(path: str | os.PathLike, limit: int | None = None) -> list[dict]:
    tasks = read_jsonl(path)
    return tasks[:limit] if limit else tasks


def to_samples(benchmark: str, tasks: Sequence[dict], completions: Sequence[str], prompt_format: str = "magicoder",
               sanitizer: str = "lines") -> list[dict]:  # fmt: skip
    return [
        {
            "task_id": task["task_id"],
            "solution": to_solution(benchmark, task, completion, prompt_format, sanitizer),
            "completion": completion,
        }  # fmt: skip
        for task, completion in zip(tasks, completions, strict=True)
    ]


@contextmanager
def serve_student(model_file: str, model_name: str, settings: dict, threads: int = 2, log_path=None) -> Iterator:
    """(clients, BOS text) for the model behind a server that this job starts and stops:
    `evaluate.backend` llama_cpp (one single-threaded server per thread; prompts start with the
    BOS token's text, see gguf_bos_text) or vllm (one server on the job's GPUs, many requests in
    flight; vLLM adds BOS itself)."""
    from .generate import make_client

    backend = settings["backend"]
    if backend == "llama_cpp":
        with llama_cpp_pool(model_file, model_name, threads, 2048, log_path) as servers:
            clients = [make_client(server.base_url, "sk-local-server", 600, max_retries=2) for server in servers]
            yield clients, gguf_bos_text(servers[0].model_path)
    elif backend == "vllm":
        vllm = settings["vllm"]
        serve = {**vllm, "model": model_file, "tensor_parallel_size": max(1, settings["gpus"])}
        with gpu_server("vllm", serve, model_name, log_path=log_path) as server:
            client = make_client(server.base_url, "sk-local-server", 3600, max_retries=2)
            yield [client] * vllm["concurrency"], ""
    else:
        raise ValueError(f"config key 'evaluate.backend': {backend!r} starts no server (llama_cpp or vllm do)")


def complete_all(clients: Sequence, complete: Callable[[object, object], str], items: Sequence) -> list[str]:
    """`complete(client, item)` for every item, spread over `clients` (one request in flight each), in order."""
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = submit_with_clients(pool, clients, complete, items)
        return [future.result() for future in futures]


def generate_samples(
    benchmark: str,
    tasks: Sequence[dict],
    clients: Sequence,
    complete: Callable[[object, str], str],
    bos_text: str = "",
    prompt_format: str = "magicoder",
    sanitizer: str = "lines",
) -> list[dict]:
    """Greedy completions for every task from a server, spread over `clients` (one request in flight each)."""
    prompts = [build_prompt(benchmark, task, bos_text, prompt_format) for task in tasks]
    started = time.monotonic()
    completions = complete_all(clients, complete, prompts)
    log.info("%s: %d completions in %.0fs", benchmark, len(tasks), time.monotonic() - started)
    return to_samples(benchmark, tasks, completions, prompt_format, sanitizer)


def transformers_completions(
    model_spec: str, prompts: Sequence[str], settings: dict, threads: int = 1, model=None, tokenizer=None,
    stop: Sequence[str] = (FENCE,), sampling: dict | None = None, budgets: Sequence[int] | None = None,
) -> list[str]:  # fmt: skip
    """Completions with transformers: batches of `settings.batch_size`, left padding, BOS + prompt as
    in training, cut at the first `stop` string (the closing fence). Greedy, or sampled with
    `sampling` {temperature, top_p, seed} (MultiPL-E). Prompts are batched by length (less padding)
    and returned in their own order. `budgets`: new tokens per prompt (default: `max_new_tokens`
    each); a batch generates its largest budget and each row keeps only its own (later tokens never
    change earlier ones)."""
    import torch

    from .train import load_student

    torch.set_num_threads(max(1, threads))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if model is None:
        is_gguf = model_spec.startswith("pkg:") or model_spec.endswith(".gguf")
        spec = {"gguf": model_spec} if is_gguf else {"path": model_spec}
        model, tokenizer = load_student(spec, "bfloat16" if device == "cuda" else "float32")
    model.to(device).eval()
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    encoded = [bos + tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    completions: list[str] = [""] * len(prompts)
    size = settings["batch_size"]
    sample = bool(sampling and sampling["temperature"] > 0)
    decoding = {"do_sample": False}
    if sample:
        torch.manual_seed(sampling["seed"])
        decoding = {"do_sample": True, "temperature": sampling["temperature"], "top_p": sampling["top_p"]}
    budgets = list(budgets) if budgets is not None else [settings["max_new_tokens"]] * len(prompts)
    for start in range(0, len(order), size):
        batch = [i for i in order[start : start + size] if budgets[i] > 0]
        if not batch:
            continue
        longest = max(len(encoded[i]) for i in batch)
        ids = [[tokenizer.pad_token_id] * (longest - len(encoded[i])) + encoded[i] for i in batch]
        mask = [[0] * (longest - len(encoded[i])) + [1] * len(encoded[i]) for i in batch]
        with torch.no_grad():
            output = model.generate(
                input_ids=torch.tensor(ids, device=device),
                attention_mask=torch.tensor(mask, device=device),
                max_new_tokens=max(budgets[i] for i in batch),
                **decoding,
                repetition_penalty=settings["repeat_penalty"],
                **({"stop_strings": list(stop), "tokenizer": tokenizer} if stop else {}),
                pad_token_id=tokenizer.pad_token_id,
            )
        for i, row in zip(batch, output[:, longest:], strict=True):
            completions[i] = cut_at(tokenizer.decode(row[: budgets[i]], skip_special_tokens=True), stop)
    return completions


def cut_at(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first of the stop strings."""
    return text[: min((text.find(s) for s in stop if s in text), default=len(text))]


def completion_function(model: str, settings: dict, stop: Sequence[str] = (FENCE,)) -> Callable[[object, str], str]:
    def complete(client, prompt: str) -> str:
        response = client.completions.create(
            model=model,
            prompt=prompt,
            max_tokens=settings["max_new_tokens"],
            temperature=0.0,
            stop=list(stop) or None,
            extra_body={"repeat_penalty": settings["repeat_penalty"]},
        )
        return response.choices[0].text

    return complete


def network_isolation_prefix() -> list[str]:
    """`unshare` into a new network namespace (root, or an unprivileged user namespace)."""
    if shutil.which("unshare"):
        for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
            probe = subprocess.run([*prefix, "true"], capture_output=True)
            if probe.returncode == 0:
                return prefix
    return []


def require_network_isolation(what: str, opt_out: str = "") -> list[str]:
    """The `unshare` prefix for running model-generated code; without one, refuse (never run it with
    the host's network silently). `opt_out` names a setting that allows running without it."""
    isolation = network_isolation_prefix()
    if not isolation:
        hint = f"set {opt_out} to run without it" if opt_out else "root, or unprivileged user namespaces, are needed"
        raise EvaluationError(f"cannot run {what} without network isolation: `unshare --net` failed ({hint})")
    return isolation


def run_evalplus(
    benchmark: str,
    samples_path: Path,
    dataset_path: Path,
    cache_dir: Path,
    timeout_s: int,
    parallel: int,
    require_no_network: bool = True,
    log_path: Path | None = None,
) -> dict:
    """`evalplus.evaluate` in a subprocess with a hard timeout; returns its per-task results."""
    results_path = samples_path.with_name(samples_path.stem + "_eval_results.json")
    results_path.unlink(missing_ok=True)  # evalplus would silently reuse stale results
    if require_no_network:
        isolation = require_network_isolation("model-generated code", "evaluate.require_no_network: false")
    else:
        isolation = network_isolation_prefix()
    env = dict(os.environ)
    env.update(
        {
            OVERRIDE_VARIABLE[benchmark]: str(dataset_path.resolve()),
            "XDG_CACHE_HOME": str(cache_dir.resolve()),
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
        }
    )
    command = [
        *isolation, sys.executable, "-m", "ossinstruct.evalplus_runner",
        "--dataset", benchmark, "--samples", str(samples_path.resolve()),
        "--parallel", str(parallel),
    ]  # fmt: skip
    sink = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        command,
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise EvaluationError(f"evalplus on {samples_path} passed its {timeout_s}s limit and was killed") from None
    if process.returncode != 0 or not results_path.exists():
        raise EvaluationError(
            f"evalplus on {samples_path} failed with exit code {process.returncode}"
            + (f" (see {log_path})" if log_path else "")
        )
    return read_json(results_path)


def score(results: dict, task_ids: Sequence[str]) -> dict:
    """pass@1 (greedy: one sample per task) on the base and the plus tests."""
    passed_base, passed_plus = [], []
    for task_id in task_ids:
        outcome = results["eval"][task_id][0]
        if outcome["base_status"] == "pass":
            passed_base.append(task_id)
            if outcome["plus_status"] == "pass":
                passed_plus.append(task_id)
    n = len(task_ids)
    return {
        "n_tasks": n,
        "pass@1": {"base": round(100 * len(passed_base) / n, 2), "plus": round(100 * len(passed_plus) / n, 2)},
        "passed": {"base": passed_base, "plus": passed_plus},
    }


def subset_dataset(source: Path, destination: Path, limit: int | None) -> Path:
    """EvalPlus insists on a sample for every task of its data set, so a subset is its own file."""
    if not limit:
        return source
    write_jsonl(destination, load_tasks(source, limit))
    return destination

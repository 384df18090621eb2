import json
from functools import partial
from pathlib import Path

import pytest

from ossinstruct.evaluate import EvaluationError
from ossinstruct.evaluate.prompts import (
    build_prompt,
    humaneval_prompt,
    load_tasks,
    mbpp_prompt,
    stop_strings,
)
from ossinstruct.evaluate.scoring import run_evalplus, score, subset_dataset
from ossinstruct.evaluate.solutions import to_solution
from ossinstruct.io import write_jsonl
from ossinstruct.sandbox import SandboxError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def humaneval(root):
    return load_tasks(root / "data/benchmarks/HumanEvalPlus-v0.1.10.jsonl.gz")


@pytest.fixture(scope="module")
def mbpp(root):
    return load_tasks(root / "data/benchmarks/MbppPlus-v0.2.0.jsonl.gz")


def test_full_benchmarks_are_shipped(humaneval, mbpp):
    assert len(humaneval) == 164 and len(mbpp) == 378


def test_humaneval_prompt_is_the_papers(humaneval):
    task = humaneval[0]
    instruction, prefix = humaneval_prompt(task)
    assert instruction == f"Write a solution to the following problem:\n```python\n{task['prompt'].strip()}\n```"
    assert prefix == f"```python\n{task['prompt'].strip()}"
    prompt = build_prompt("humaneval", task, "<|im_start|>")
    assert prompt.startswith("<|im_start|>You are an exceptionally intelligent coding assistant")
    assert prompt.endswith("@@ Response\n" + prefix)


def test_mbpp_prompt_splits_text_and_first_assertion(mbpp):
    task = next(t for t in mbpp if t["task_id"] == "Mbpp/2")
    instruction, prefix = mbpp_prompt(task)
    assert instruction == (
        "Write a function to find the shared elements from the given two lists. Your code should satisfy "
        "the following assertion:\n```python\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) "
        "== set((4, 5))\n```"
    )
    assert prefix == "```python"


def test_solutions_are_cut_at_the_closing_fence(humaneval, mbpp):
    """Magicoder format: HumanEval's completion joins the task prompt as `evalplus.evaluate` joins one;
    MBPP's is sanitised, by the paper's line-based rule or evalplus 0.3.1's."""
    task = humaneval[0]
    solution = to_solution("humaneval", task, "\n    return True\n```\nExplanation follows")
    assert solution == task["prompt"] + "\n    return True\n"
    completion = "\ndef similar_elements(a, b):\n    return set(a) & set(b)\n\nprint(similar_elements(1, 2))\n```\ntext"
    for sanitizer in ("lines", "tree_sitter"):
        code = to_solution("mbpp", mbpp[0], completion, "magicoder", sanitizer)
        assert code.endswith("def similar_elements(a, b):\n    return set(a) & set(b)"), sanitizer
        assert "print" not in code and "text" not in code


def test_the_completion_format_continues_the_task_prompt_and_sanitises(humaneval, mbpp):
    """Base models as the EvalPlus leaderboard ran them: the task prompt alone (after BOS), continued
    (`none`: with no stop string; evalplus 0.3.1's stops listed), then the prompt + completion
    sanitised (here by EvalPlus 1895d2f's line rule, which cuts at the first unindented line that
    does not start a function)."""
    task = humaneval[0]
    assert build_prompt("humaneval", task, "<s>", "completion") == "<s>" + task["prompt"]
    assert stop_strings("completion", "humaneval", "none") == [] and stop_strings("magicoder") == ["```"]
    assert stop_strings("completion", "mbpp", "evalplus") == [
        "\nif __name__",
        "\ndef main(",
        "\nprint(",
        '\n"""',
        "\nassert",
    ]
    with pytest.raises(ValueError, match="evaluate.completion_stop"):
        stop_strings("completion", "mbpp", "early")
    body = "    return any(abs(a - b) < threshold for a in numbers for b in numbers if a is not b)\n"
    solution = to_solution("humaneval", task, body + "\n\nprint(has_close_elements([1.0], 0.5))\n", "completion")
    assert solution == (task["prompt"] + body).strip()
    mbpp_solution = to_solution(
        "mbpp", mbpp[0], "def similar_elements(a, b):\n  return set(a) & set(b)\nx = 1\n", "completion"
    )
    assert mbpp_solution.endswith('"""\ndef similar_elements(a, b):\n  return set(a) & set(b)')


LEADERBOARD_HUMANEVAL = [
    "\nclass",
    "\ndef",
    "\n#",
    "\n@",
    "\nprint",
    "\nif",
    "<|endoftext|>",
    "\n```",
    "\n</s>",
    "<|endofmask|>",
]


def test_the_leaderboards_stops_are_humanevals_2023_codegen_stops_and_none_for_mbpp():
    """The paper's base rows: the leaderboard's HumanEval rows were cut at the codegen's code and
    non-code stops (evalplus codegen/model.py at fc10dc7 and 81f216c); its MBPP rows used none."""
    assert stop_strings("completion", "humaneval", "leaderboard") == LEADERBOARD_HUMANEVAL
    assert stop_strings("completion", "mbpp", "leaderboard") == []
    assert stop_strings("magicoder", "humaneval", "leaderboard") == ["```"]


def test_the_leaderboards_humaneval_stops_keep_a_redefinition_and_a_fence_out_of_the_solution(humaneval):
    """Hand-made completions of HumanEval/10 that show each difference from `none`: a later top-level
    `def` of the entry point survives the line sanitiser and wins; a stray fence sends the sanitiser
    into the fenced text. Cut at the leaderboard's stops, the right body is what EvalPlus runs."""
    from ossinstruct.evaluate.prompts import cut_at

    task = next(t for t in humaneval if t["task_id"] == "HumanEval/10")
    body = task["canonical_solution"]
    redefined = body + "\n\ndef make_palindrome(string: str) -> str:\n    return ''\n"
    fenced = body + "\n```\n\nUsage:\n```python\nprint(make_palindrome('cat'))\n```\n"

    def run(completion: str, completion_stop: str):
        stops = stop_strings("completion", "humaneval", completion_stop)
        solution = to_solution("humaneval", task, cut_at(completion, stops), "completion", "lines")
        scope: dict = {}
        exec(solution, scope)  # our own hand-written code, not a model's
        return scope["make_palindrome"]("cat") if "make_palindrome" in scope else None

    assert run(redefined, "leaderboard") == "catac" and run(redefined, "none") == ""
    assert run(fenced, "leaderboard") == "catac" and run(fenced, "none") is None


def test_real_evalplus_scores_canonical_and_wrong_solutions_in_the_sandbox(root, humaneval, tmp_path):
    tasks = humaneval[:3]
    dataset = subset_dataset(root / "data/benchmarks/HumanEvalPlus-v0.1.10.jsonl.gz", tmp_path / "dataset.jsonl", 3)
    samples = [{"task_id": t["task_id"], "solution": t["prompt"] + t["canonical_solution"]} for t in tasks[:2]]
    samples.append({"task_id": tasks[2]["task_id"], "solution": tasks[2]["prompt"] + "    return None\n"})
    path = tmp_path / "samples.jsonl"
    write_jsonl(path, samples)
    stale = tmp_path / "samples_eval_results.json"
    stale.write_text(json.dumps({"eval": {}}))  # evalplus would silently reuse this
    cache = tmp_path / "cache"
    evaluate = partial(run_evalplus, benchmark="humaneval", samples_path=path, dataset_path=dataset, cache_dir=cache)
    results = evaluate(timeout_s=300, parallel=1)
    scores = score(results, [t["task_id"] for t in tasks])
    assert scores["passed"]["base"] == [tasks[0]["task_id"], tasks[1]["task_id"]]
    assert scores["pass@1"] == {"base": 66.67, "plus": 66.67}
    # A second scoring of the same benchmark reuses the ground truth (no trusted run) and logs its progress.
    (pickle,) = (tmp_path / "cache/evalplus").glob("*.pkl")
    written = pickle.stat().st_mtime_ns
    log = tmp_path / "evalplus.log"
    again = evaluate(timeout_s=300, parallel=1, log_path=log)
    assert score(again, [t["task_id"] for t in tasks]) == scores
    text = log.read_text()
    assert "computed earlier" in text and "Computing expected output" not in text
    assert pickle.stat().st_mtime_ns == written
    assert "EvalPlus: 3/3 samples (100.0%)" in text and "done in" in text


def evalplus_on_the_first_task(humaneval, tmp_path, solution: str, timeout_s: int = 300, **limits) -> dict:
    """EvalPlus, in the sandbox, on one solution of the first HumanEval+ task (a data set of its own)."""
    write_jsonl(tmp_path / "samples.jsonl", [{"task_id": humaneval[0]["task_id"], "solution": solution}])
    dataset = tmp_path / "dataset.jsonl"
    write_jsonl(dataset, humaneval[:1])
    return run_evalplus(
        benchmark="humaneval",
        samples_path=tmp_path / "samples.jsonl",
        dataset_path=dataset,
        cache_dir=tmp_path / "cache",
        timeout_s=timeout_s,
        parallel=1,
        **limits,
    )


def test_evalplus_runs_solutions_without_the_hosts_network(humaneval, tmp_path):
    """A solution that reaches a listener on the host's loopback would pass; in EvalPlus's run, inside
    its own network namespace, the connection fails, so it does not, and the listener sees nothing."""
    from ..conftest import Listener

    task = humaneval[0]
    with Listener() as listener:
        probe = (
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {listener.port}), 2).close()\n"
            "    REACHED = True\nexcept OSError:\n    REACHED = False\n"
        )
        body = "    if not REACHED:\n        return None\n" + task["canonical_solution"]
        results = evalplus_on_the_first_task(humaneval, tmp_path, probe + task["prompt"] + body)
    assert score(results, [task["task_id"]])["passed"]["base"] == [] and listener.accepted == 0


def test_evalplus_refuses_to_run_without_network_isolation(humaneval, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `bwrap` to be found
    write_jsonl(tmp_path / "samples.jsonl", [{"task_id": humaneval[0]["task_id"], "solution": "x = 1\n"}])
    with pytest.raises(SandboxError, match="bubblewrap .* not installed.*sandbox.require_isolation: false"):
        run_evalplus(
            benchmark="humaneval",
            samples_path=tmp_path / "samples.jsonl",
            dataset_path=tmp_path / "d.jsonl",
            cache_dir=tmp_path / "cache",
            timeout_s=60,
            parallel=1,
        )


def test_evalplus_past_its_limit_is_killed(humaneval, tmp_path):
    # A solution that hangs keeps evalplus busy well past the job's 1 s limit (its own per-test limits are longer).
    with pytest.raises(EvaluationError, match="passed its 1s limit"):
        evalplus_on_the_first_task(humaneval, tmp_path, "import time\ntime.sleep(30)\n", timeout_s=1)


def test_transformers_backend_batches_with_left_padding_and_keeps_the_prompt_order(mbpp):
    """The transformers backend (GPU path, here on the CPU): the real student, greedy, batches of
    prompts of different lengths give the same text as one prompt at a time, in the prompts' order."""
    from ossinstruct.evaluate.backends import transformers_completions
    from ossinstruct.train.student import load_student

    from ..conftest import SMOLLM2

    model, tokenizer = load_student({"gguf": SMOLLM2})
    prompts = [build_prompt("mbpp", task) for task in (mbpp[0], mbpp[5], mbpp[2])]
    assert len({len(prompt) for prompt in prompts}) == 3  # different lengths: real padding
    settings = {"max_new_tokens": 24, "repeat_penalty": 1.0}
    one = transformers_completions("", prompts, {**settings, "batch_size": 1}, 2, model, tokenizer)
    three = transformers_completions("", prompts, {**settings, "batch_size": 3}, 2, model, tokenizer)
    assert one == three
    assert all(text.strip() and "```" not in text for text in one)
    alone = transformers_completions("", prompts[1:2], {**settings, "batch_size": 1}, 2, model, tokenizer)
    assert alone == one[1:2]
    # transformers' continuous batching (a paged cache; benchmarks/generation_speed.py --continuous):
    # the same greedy completions, in the prompts' order.
    from ossinstruct.evaluate.backends import continuous_completions

    assert continuous_completions(model, tokenizer, prompts, 24) == one

    # MultiPL-E through the same backend: sampled as the paper samples, reproducible from the seed,
    # cut at the language's stop strings (here JavaScript's).
    from ossinstruct.io import read_jsonl

    js = read_jsonl(ROOT / "data/benchmarks/multipl-e/humaneval-js.jsonl")[:2]
    sampling = {"temperature": 0.8, "top_p": 0.95, "seed": 3}
    jobs = [task["prompt"] for task in js for _ in range(2)]
    stop = js[0]["stop_tokens"]
    runs = [
        transformers_completions("", jobs, {**settings, "batch_size": 4}, 2, model, tokenizer, stop, sampling)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert not any(token in text for text in runs[0] for token in stop)
    assert len(set(runs[0])) > 2  # sampled: the two samples of a task differ


def test_a_solution_slower_than_the_papers_time_limit_fails_under_it_and_passes_under_evalplus_031(humaneval, tmp_path):
    """EvalPlus 1895d2f (the paper) gives each test input at least 0.2 s, evalplus 0.3.1 at least 1.0 s
    (both 4x the canonical solution's time when that is longer): a right solution that takes 0.5 s
    on its first input times out under the paper's limit and passes under 0.3.1's."""
    task = humaneval[0]
    slow = (
        "import time\nCALLS = []\n"
        + task["prompt"]
        + ("    CALLS.append(1)\n    if len(CALLS) == 1:\n        time.sleep(0.5)\n" + task["canonical_solution"])
    )
    evaluate = partial(evalplus_on_the_first_task, humaneval, tmp_path, slow)
    paper = evaluate(min_time_limit=0.2, gt_time_limit_factor=4.0)
    assert paper["eval"][task["task_id"]][0]["base_status"] == "fail"
    evalplus_031 = evaluate(min_time_limit=1.0, gt_time_limit_factor=4.0)
    assert score(evalplus_031, [task["task_id"]])["passed"]["plus"] == [task["task_id"]]


# The request fields of vLLM's OpenAI-compatible /v1/completions that our requests may carry: the
# OpenAI ones and vLLM's sampling extras under its own names (vLLM docs, "Extra parameters").
VLLM_COMPLETION_FIELDS = {
    "model", "prompt", "max_tokens", "temperature", "top_p", "seed", "stop", "n", "stream",
    "repetition_penalty", "top_k", "min_p", "stop_token_ids", "ignore_eos",
}  # fmt: skip


def test_each_server_gets_the_repetition_penalty_under_its_own_field_name():
    """vLLM reads `repetition_penalty` and ignores llama.cpp's `repeat_penalty`; a request to a real
    local HTTP server shows which fields each backend's completion request carries."""
    import http.server
    import threading

    from ossinstruct.evaluate.backends import completion_function
    from ossinstruct.server import free_port
    from ossinstruct.teacher.client import make_client

    received: list[dict] = []

    class Completions(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            choice = {"index": 0, "text": "    return 1\n", "finish_reason": "stop"}
            body = json.dumps({"id": "c", "object": "text_completion", "created": 0, "model": "m", "choices": [choice]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Completions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = make_client(f"http://127.0.0.1:{port}/v1", "x", 30)
        for backend in ("vllm", "llama_cpp"):
            settings = {"backend": backend, "max_new_tokens": 16, "repeat_penalty": 1.3}
            assert completion_function("m", settings, ["\ndef"])(client, "def f():\n") == "    return 1\n"
    finally:
        server.shutdown()
    vllm, llama_cpp = received
    assert vllm["repetition_penalty"] == 1.3 and "repeat_penalty" not in vllm
    assert set(vllm) <= VLLM_COMPLETION_FIELDS, set(vllm) - VLLM_COMPLETION_FIELDS
    assert llama_cpp["repeat_penalty"] == 1.3 and vllm["stop"] == ["\ndef"] and vllm["max_tokens"] == 16

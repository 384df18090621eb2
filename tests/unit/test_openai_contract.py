"""The OpenAI client path against the API's documented response shapes (tests/data/openai/).

Three checks, so that our local OpenAI-protocol server and our client cannot share a misconception:
the `openai` SDK's own types accept every recorded object; our client, against a server that
replays the recordings verbatim, reads the answer, retries, waits and stops as it should; and the
local server answers with every key the recordings have.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest
from openai.types import Batch, FileObject
from openai.types.chat import ChatCompletion

from ossinstruct.teacher.answers import generate_responses
from ossinstruct.teacher.cache import ResponseCache
from ossinstruct.teacher.client import answer_from_completion, make_client
from ossinstruct.teacher.errors import FatalTeacherError, TeacherFailures

from ..openai_server import OpenAIServer
from ..teacher_session import session

RECORDED = json.loads((Path(__file__).parents[1] / "data/openai/recorded.json").read_text())
SETTINGS = {
    "name": "contract",
    "model": "gpt-3.5-turbo-1106",
    "server": "openai",
    "demonstration": "none",
    "system_role": "system",
    "temperature": 0.0,
    "seed": 976,
    "max_new_tokens": 100,
    "context_length": 8192,
    "extra_body": {},
}
SEEDS = [{"id": f"python-{i}", "lang": "python", "seed": f"x = {i}\n", "index": i} for i in range(2)]
CLIENT = {"progress": False, "timeout_s": 5.0, "max_retries": 3, "backoff_s": 0.01, "max_backoff_s": 0.02}


def paths(value, prefix="") -> set[str]:
    """Every key path of a JSON value (lists by their first element)."""
    if isinstance(value, dict):
        return {p for key, item in value.items() for p in {prefix + key} | paths(item, prefix + key + ".")}
    if isinstance(value, list) and value:
        return paths(value[0], prefix.rstrip(".") + "[].")
    return set()


class Replay:
    """A server that answers each (method, path) with the next recorded response, verbatim. A batch's
    output and error files are the recorded lines, given the custom ids of the uploaded requests."""

    def __init__(self, script: dict[tuple[str, str], list[tuple[int, dict, object]]]):
        self.script = {key: list(value) for key, value in script.items()}
        self.requests: list[tuple[float, str, str]] = []
        self.uploaded = b""
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, method):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                replay.requests.append((time.monotonic(), method, self.path))
                if self.path == "/v1/files" and method == "POST":
                    replay.uploaded = body
                queue = replay.script.get((method, self.path))
                if not queue:
                    status, headers, payload = 404, {}, {"error": {"message": f"no recording for {self.path}"}}
                else:
                    status, headers, payload = queue.pop(0) if len(queue) > 1 else queue[0]
                if callable(payload):
                    payload = payload(replay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def custom_ids(self) -> list[str]:
        """The custom ids of the uploaded requests, in order."""
        return [match.decode() for match in re.findall(rb'custom_id"\s*:\s*"([0-9a-f]{64})', self.uploaded)]


def error(code: str):
    recorded = RECORDED["errors"][code]
    return recorded["status"], recorded["headers"], recorded["body"]


def ok(body) -> tuple[int, dict, object]:
    return 200, {}, body


def generate(base_url: str, tmp_path: Path, seeds=SEEDS[:1], mode="online", **client):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        clients = [make_client(base_url, "sk-test", 5.0)]
        batch = {"poll_interval_s": 0.01, "max_wait_s": 30}
        return generate_responses(
            seeds,
            SETTINGS,
            session(clients, cache, base_url=base_url, client={**CLIENT, **client}, mode=mode, batch=batch),
        )
    finally:
        cache.close()


def test_the_sdk_accepts_every_recorded_object():
    ChatCompletion.model_validate(RECORDED["chat_completion"])
    FileObject.model_validate(RECORDED["file"])
    for name in ("batch_in_progress", "batch_completed"):
        Batch.model_validate(RECORDED[name])
    ChatCompletion.model_validate(RECORDED["batch_output_line"]["response"]["body"])
    for recorded in RECORDED["errors"].values():
        assert set(recorded["body"]["error"]) == {"message", "type", "param", "code"}


def test_a_recorded_answer_after_a_recorded_429_and_500_is_read_and_kept(tmp_path):
    chat = ("POST", "/v1/chat/completions")
    with Replay({chat: [error("429"), error("500"), error("503"), ok(RECORDED["chat_completion"])]}) as replay:
        rows, report = generate(replay.base_url, tmp_path)
        times = [t for t, method, path in replay.requests if path == "/v1/chat/completions"]
    expected = RECORDED["chat_completion"]
    assert rows[0]["response"] == expected["choices"][0]["message"]["content"]
    assert rows[0]["usage"] == {k: expected["usage"][k] for k in ("prompt_tokens", "completion_tokens")}
    assert rows[0]["system_fingerprint"] == expected["system_fingerprint"] and rows[0]["finish_reason"] == "stop"
    assert report["retries_by_cause"] == {"rate_limited": 1, "http_500": 1, "http_503": 1}
    assert times[1] - times[0] >= 0.95  # the recorded `retry-after: 1`


@pytest.mark.parametrize(
    ("code", "raised", "match"),
    [
        ("401", FatalTeacherError, "rejected the API key"),
        ("404", FatalTeacherError, r"404 for model .*teacher\.model"),
        ("400", TeacherFailures, r"http_400.*maximum context length"),
    ],
)
def test_recorded_client_errors_stop_or_fail_without_retrying(tmp_path, code, raised, match):
    with Replay({("POST", "/v1/chat/completions"): [error(code)]}) as replay:
        with pytest.raises(raised, match=match):
            generate(replay.base_url, tmp_path)
        assert len([r for r in replay.requests if r[2] == "/v1/chat/completions"]) == 1


def test_the_batch_api_recorded_objects_give_the_answer_and_name_the_failure(tmp_path):
    def output(replay):
        ids = replay.custom_ids()
        return (json.dumps({**RECORDED["batch_output_line"], "custom_id": ids[0]}) + "\n").encode()

    def errors(replay):
        ids = replay.custom_ids()
        return (json.dumps({**RECORDED["batch_error_line"], "custom_id": ids[1]}) + "\n").encode()

    completed = RECORDED["batch_completed"]
    script = {
        ("POST", "/v1/files"): [ok(RECORDED["file"])],
        ("POST", "/v1/batches"): [ok(RECORDED["batch_in_progress"])],
        ("GET", f"/v1/batches/{completed['id']}"): [ok(RECORDED["batch_in_progress"]), ok(completed)],
        ("GET", f"/v1/files/{completed['output_file_id']}/content"): [(200, {}, output)],
        ("GET", f"/v1/files/{completed['error_file_id']}/content"): [(200, {}, errors)],
    }
    with Replay(script) as replay:
        rows, report = generate(replay.base_url, tmp_path, seeds=SEEDS, mode="batch", max_failed_fraction=0.5)
    assert len(replay.custom_ids()) == 2
    body = RECORDED["batch_output_line"]["response"]["body"]
    assert [row["id"] for row in rows] == ["python-0"]
    assert rows[0]["response"] == body["choices"][0]["message"]["content"]
    assert report["failed_by_cause"] == {"batch_batch_expired": 1} and report["failures"][0]["id"] == "python-1"


def test_our_local_server_answers_with_every_recorded_key(tmp_path):
    with OpenAIServer(faults={977: ["429"], 978: ["500"]}) as server:

        def post(path, body):
            request = urllib.request.Request(
                server.base_url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request) as response:
                    return response.status, dict(response.headers), json.load(response)
            except urllib.error.HTTPError as failure:
                return failure.code, dict(failure.headers), json.load(failure)

        request = {"model": "m", "messages": [{"role": "user", "content": "```\nx = 1\n```"}]}
        status, _, chat = post("/chat/completions", {**request, "seed": 976})
        assert status == 200 and paths(RECORDED["chat_completion"]) <= paths(chat)
        ChatCompletion.model_validate(chat)
        for seed, code in ((977, "429"), (978, "500")):
            status, headers, body = post("/chat/completions", {**request, "seed": seed})
            assert status == int(code) and paths(RECORDED["errors"][code]["body"]) <= paths(body)
            if code == "429":
                assert float({name.lower(): value for name, value in headers.items()}["retry-after"]) > 0

        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        line = {
            "custom_id": "a" * 64,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {**request, "seed": 979},
        }
        upload = client.files.create(file=("in.jsonl", json.dumps(line).encode()), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert paths(RECORDED["file"]) <= paths(upload.model_dump())
        for _ in range(10):
            batch = client.batches.retrieve(batch.id)
            if batch.status == "completed":
                break
        raw = json.load(urllib.request.urlopen(f"{server.base_url}/batches/{batch.id}"))
        assert paths(RECORDED["batch_completed"]) - {"metadata.customer_id", "metadata.batch_description"} <= paths(raw)
        lines = client.files.content(batch.output_file_id).text.splitlines()
        assert paths(RECORDED["batch_output_line"]) <= paths(json.loads(lines[0]))
    assert answer_from_completion(chat)["response"] == chat["choices"][0]["message"]["content"]

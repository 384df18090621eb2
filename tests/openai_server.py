"""A local server that speaks the OpenAI protocol, for the parts of a hosted API we cannot reach.

It answers `/v1/chat/completions` after a fixed delay with a deterministic two-section answer
derived from the request, enforces requests- and tokens-per-minute limits with 429 and
retry-after like a hosted API, injects scripted faults per request (429, 500, a hang, malformed
JSON, `finish_reason=length`), and implements the `/v1/files` and `/v1/batches` endpoints that
the Batch API mode uses. It records what it received so tests can check what was (re)sent.

Used by the tests and by benchmarks/teacher_throughput.py; runs in a thread of the caller.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ossinstruct.server import free_port


def prompt_token_count(body: dict) -> int:
    """How this server counts a request's prompt: one token per 3 bytes of every message."""
    text = "".join(message["content"] for message in body["messages"])
    return math.ceil(len(text.encode("utf-8")) / 3)


def answer_text(body: dict) -> str:
    """Two sections as the paper's prompt asks: the snippet quoted in the problem, a one-line solution
    fenced as Python unless the snippet has braces, semicolons or `$` (Table 5 splits on that fence)."""
    code = body["messages"][-1]["content"].split("```\n", 1)[-1].split("\n```", 1)[0]
    fence = "```" if any(mark in code for mark in "{};$") else "```python"
    return (
        f"[Problem Description]\nWrite a program in the spirit of this snippet (request seed {body.get('seed')}):\n"
        f"{code}\n\n[Solution]\n{fence}\nprint({body.get('seed')!r})\n```"
    )


@dataclass
class Budget:
    """The server's own token bucket: `per_minute`, enforced per second (burst of one second)."""

    per_minute: float
    level: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.level = self.per_minute / 60.0

    def take(self, amount: float) -> float:
        """0.0 if `amount` was taken, else the seconds until it would fit."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        self.level = min(rate, self.level + (now - self.updated) * rate)
        self.updated = now
        amount = min(amount, rate)
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / rate


class OpenAIServer:
    def __init__(
        self,
        delay_s: float = 0.0,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        faults: dict[int, list[str]] | None = None,
        hang_s: float = 30.0,
        batch_polls: int = 2,
        api_key: str | None = None,
        system_role: bool = True,
        port: int | None = None,
        models: list[str] | None = None,
        retry_after_s: float = 0.2,
        retry_after_form: str = "both",
        parseable: bool = True,
        listing=None,
        answer_tokens: int | None = None,
    ) -> None:
        self.delay_s = delay_s
        self.requests = Budget(requests_per_minute) if requests_per_minute else None
        self.tokens = Budget(tokens_per_minute) if tokens_per_minute else None
        self.faults = faults or {}
        self.hang_s = hang_s
        self.batch_polls = batch_polls
        self.api_key = api_key
        self.attempts: Counter = Counter()  # request seed -> chat requests received
        self.answered: Counter = Counter()  # request seed -> 200 answers sent
        self.rejected = 0
        self.unauthorized = 0  # chat requests answered 401
        self.received: list[tuple[float, object, str]] = []  # (arrival time, request seed, what was answered)
        self.bodies: list[dict] = []  # every chat request's body, as it arrived
        self.served_models = models  # None: any model name is served
        self.retry_after_s = retry_after_s  # a scripted 429's retry-after
        self.retry_after_form = retry_after_form  # both (seconds + ms), seconds, ms or date
        self.parseable = parseable  # False: answers without the two sections, as a small teacher writes them
        # What /v1/models lists: a callable returning the entries, called per request (None: one bare entry)
        self.listing = listing
        self.answer_tokens = answer_tokens  # pad each answer to this many tokens (a wordy teacher)
        self.billed = Counter()  # prompt_tokens and completion_tokens of every answer sent, as a provider bills
        self.accepted_tokens = 0
        self.accepted_times: list[float] = []
        self.authorization_headers: set[str] = set()
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.batch_polled: Counter = Counter()
        self.lock = threading.RLock()
        self.system_role = system_role  # False: the chat template rejects a system message, as Mixtral's does
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> OpenAIServer:
        routes = [
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/files", self.upload, methods=["POST"]),
            Route("/v1/files/{file_id}", self.file_info, methods=["GET"]),
            Route("/v1/files/{file_id}/content", self.file_content, methods=["GET"]),
            Route("/v1/batches", self.create_batch, methods=["POST"]),
            Route("/v1/batches/{batch_id}", self.retrieve_batch, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self.cancel_batch, methods=["POST"]),
        ]
        config = uvicorn.Config(
            Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="warning", backlog=4096
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("local OpenAI-protocol server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # --- chat completions ----------------------------------------------------------------------
    async def models(self, request: Request) -> Response:
        data = self.listing() if self.listing is not None else [{"id": "local-teacher", "object": "model"}]
        return JSONResponse({"object": "list", "data": data})

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        self.authorization_headers.add(header)
        return self.api_key is None or header == f"Bearer {self.api_key}"

    def _fault(self, seed) -> str:
        with self.lock:
            attempt = self.attempts[seed]
            self.attempts[seed] += 1
        script = self.faults.get(seed, [])
        return script[attempt] if attempt < len(script) else "ok"

    def _limited(self, body: dict) -> float:
        with self.lock:
            cost = prompt_token_count(body) + body.get("max_tokens", 0)
            waits = [b.take(n) for b, n in ((self.requests, 1), (self.tokens, cost)) if b is not None]
            wait = max(waits, default=0.0)
            if wait > 0:
                self.rejected += 1
            else:
                self.accepted_tokens += cost
                self.accepted_times.append(time.monotonic())
            return wait

    def completion(self, body: dict, fault: str = "ok") -> dict:
        content = answer_text(body) if self.parseable else f"Sure! Here is a program:\nprint({body.get('seed')!r})"
        finish = "stop"
        if self.answer_tokens:
            padding = max(0, self.answer_tokens * 3 - len(content))
            content += "\n" + "#" * padding
        if fault == "length":
            content, finish = content[: len(content) // 2], "length"
        if body.get("max_tokens") and math.ceil(len(content) / 3) > body["max_tokens"]:  # as a server stops
            content, finish = content[: body["max_tokens"] * 3], "length"
        return {
            "id": f"chatcmpl-{body.get('seed')}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "system_fingerprint": "fp_local",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_token_count(body),
                "completion_tokens": math.ceil(len(content) / 3),
                "total_tokens": prompt_token_count(body) + math.ceil(len(content) / 3),
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
        }

    async def chat(self, request: Request) -> Response:
        arrived = time.monotonic()
        authorized = self._authorized(request)
        body = await request.json()
        response = await self._chat(body, authorized)
        with self.lock:
            self.received.append((arrived, body.get("seed"), str(response.status_code)))
            self.bodies.append(body)
        return response

    async def _chat(self, body: dict, authorized: bool) -> Response:
        if not authorized:  # OpenAI's answer to a wrong key
            with self.lock:
                self.unauthorized += 1
            return _error(401, "Incorrect API key provided.", type_="invalid_request_error", code="invalid_api_key")
        if self.served_models is not None and body.get("model") not in self.served_models:
            return _error(
                404,
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                type_="invalid_request_error",
                code="model_not_found",
            )
        roles = [message["role"] for message in body["messages"]]
        if not self.system_role and "system" in roles:  # vLLM's answer when the template raises
            return JSONResponse(
                {
                    "object": "error",
                    "type": "BadRequestError",
                    "param": None,
                    "code": 400,
                    "message": "Conversation roles must alternate user/assistant/user/assistant/...",
                },
                status_code=400,
            )
        fault = self._fault(body.get("seed"))
        if fault == "429":
            return _error(
                429,
                "Rate limit reached (scripted)",
                retry_after=self.retry_after_s,
                form=self.retry_after_form,
                type_="requests",
                code="rate_limit_exceeded",
            )
        if fault == "400":
            return _error(
                400,
                "This model's maximum context length is 8192 tokens (scripted).",
                type_="invalid_request_error",
                code="context_length_exceeded",
                param="messages",
            )
        if fault == "500":
            return _error(500, "The server had an error while processing your request. Sorry about that!")
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
        wait = self._limited(body)
        if wait > 0:
            return _error(429, "Rate limit reached", retry_after=wait, type_="tokens", code="rate_limit_exceeded")
        await asyncio.sleep(self.delay_s)
        if fault == "malformed":
            return Response(b'{"id": "chatcmpl-x", "choices": [', media_type="application/json")
        answer = self.completion(body, fault)
        with self.lock:
            self.answered[body.get("seed")] += 1
            self.billed.update({key: answer["usage"][key] for key in ("prompt_tokens", "completion_tokens")})
        return JSONResponse(answer)

    # --- files and batches -------------------------------------------------------------------------
    async def upload(self, request: Request) -> Response:
        form = await request.form()
        upload = form["file"]
        content = await upload.read()
        with self.lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "expires_at": int(time.time()) + 30 * 86400,
                "filename": upload.filename,
                "purpose": form["purpose"],
                "status": "processed",
                "content": content,
            }
        return JSONResponse(_public(self.files[file_id]))

    async def file_info(self, request: Request) -> Response:
        found = self.files.get(request.path_params["file_id"])
        return JSONResponse(_public(found)) if found else _error(404, "no such file")

    async def file_content(self, request: Request) -> Response:
        found = self.files.get(request.path_params["file_id"])
        if not found:
            return _error(404, "no such file")
        return Response(found["content"], media_type="application/octet-stream")

    async def create_batch(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "bad key")
        body = await request.json()
        if body["input_file_id"] not in self.files:
            return _error(400, f"no file {body['input_file_id']}")
        with self.lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"],
                "completion_window": body["completion_window"],
                "metadata": body.get("metadata"),
                "status": "validating",
                "errors": None,
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                **{
                    f"{event}_at": None
                    for event in (
                        "in_progress",
                        "finalizing",
                        "completed",
                        "failed",
                        "expired",
                        "cancelling",
                        "cancelled",
                    )
                },
                "expires_at": int(time.time()) + 86400,
            }
        return JSONResponse(self.batches[batch_id])

    async def retrieve_batch(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if not batch:
            return _error(404, "no such batch")
        with self.lock:
            self.batch_polled[batch["id"]] += 1
            polls = self.batch_polled[batch["id"]]
            if batch["status"] == "validating":
                batch["status"], batch["in_progress_at"] = "in_progress", int(time.time())
            elif batch["status"] == "in_progress" and polls >= self.batch_polls:
                self._run_batch(batch)
        return JSONResponse(batch)

    async def cancel_batch(self, request: Request) -> Response:
        batch = self.batches[request.path_params["batch_id"]]
        batch["status"] = "cancelled"
        return JSONResponse(batch)

    def _run_batch(self, batch: dict) -> None:
        lines = self.files[batch["input_file_id"]]["content"].decode().splitlines()
        outputs, errors = [], []
        for line in lines:
            item = json.loads(line)
            body = item["body"]
            fault = self._fault(body.get("seed"))
            if fault in {"500", "429", "malformed", "hang"}:
                errors.append(
                    {
                        "id": f"batch_req_e{len(errors)}",
                        "custom_id": item["custom_id"],
                        "response": None,
                        "error": {"code": "server_error", "message": f"scripted {fault}"},
                    }
                )
                continue
            self.answered[body.get("seed")] += 1
            answer = self.completion(body, fault)
            self.billed.update({key: answer["usage"][key] for key in ("prompt_tokens", "completion_tokens")})
            response = {"status_code": 200, "request_id": "r", "body": answer}
            outputs.append(
                {"id": f"batch_req_{len(outputs)}", "custom_id": item["custom_id"], "response": response, "error": None}
            )
        for kind, rows in (("output_file_id", outputs), ("error_file_id", errors)):
            if rows:
                file_id = f"file-{len(self.files) + 1}"
                content = "".join(json.dumps(row) + "\n" for row in rows).encode()
                self.files[file_id] = {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(content),
                    "created_at": 0,
                    "expires_at": None,
                    "filename": f"{kind}.jsonl",
                    "purpose": "batch_output",
                    "status": "processed",
                    "content": content,
                }
                batch[kind] = file_id
        batch["status"] = "completed"
        batch["finalizing_at"] = batch["completed_at"] = int(time.time())
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}


def _public(file: dict) -> dict:
    return {key: value for key, value in file.items() if key != "content"}


def _error(
    status: int,
    message: str,
    retry_after: float | None = None,
    form: str = "both",
    type_: str | None = None,
    code: str | None = None,
    param: str | None = None,
) -> Response:
    """An error as OpenAI sends one: `{"error": {message, type, param, code}}`, with retry-after headers."""
    headers = {}
    if retry_after is not None:
        if form in ("both", "seconds"):
            headers["retry-after"] = f"{math.ceil(retry_after)}"
        if form in ("both", "ms"):
            headers["retry-after-ms"] = f"{math.ceil(retry_after * 1000)}"
        if form == "date":
            from email.utils import formatdate

            headers["retry-after"] = formatdate(time.time() + math.ceil(retry_after), usegmt=True)
    type_ = type_ or ("server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted: `python -m tests.openai_server --port 18471 [--no-system-role]`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-system-role", action="store_true", help="reject a system message (Mixtral's template)")
    args = parser.parse_args(argv)
    with OpenAIServer(port=args.port, system_role=not args.no_system_role) as server:
        print(f"serving {server.base_url}", flush=True)
        try:
            while server._thread.is_alive():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""A local server speaking the Hugging Face Hub's upload protocol, as `huggingface_hub`'s
`create_repo` and `upload_folder` use it (`HF_ENDPOINT`): create a repository, the pre-upload call
(every file answered `regular`: its bytes travel inside the commit), and the NDJSON commit. What a
commit adds is written under `root/<repo_id>/`, so a test reads back what the Hub would hold. The
card's metadata is sent to `/api/validate-yaml` first; the Hub's validator is not here, so it is
recorded and accepted.
Any other route answers 404 and is recorded in `unknown`."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ossinstruct.server import free_port


class HubUploadServer:
    def __init__(self, root: Path, token: str) -> None:
        self.root, self.token = Path(root), token
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.created: list[dict] = []
        self.commits: list[dict] = []
        self.unknown: list[str] = []
        self.validated: list[dict] = []  # what was sent to /api/validate-yaml
        self._server: uvicorn.Server | None = None

    def __enter__(self) -> HubUploadServer:
        app = Starlette(
            routes=[
                Route("/api/repos/create", self.create, methods=["POST"]),
                Route("/api/validate-yaml", self.validate_yaml, methods=["POST"]),
                Route("/api/datasets/{org}/{name}/preupload/{revision}", self.preupload, methods=["POST"]),
                Route("/api/datasets/{org}/{name}/commit/{revision}", self.commit, methods=["POST"]),
                Route("/{path:path}", self.other, methods=["GET", "POST", "PUT", "HEAD"]),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def create(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"error": "Invalid credentials in Authorization header"}, status_code=401)
        body = await request.json()
        self.created.append(body)
        repo = f"{body.get('organization')}/{body['name']}"
        return JSONResponse({"url": f"{self.endpoint}/datasets/{repo}", "name": repo})

    async def validate_yaml(self, request: Request) -> JSONResponse:
        """The Hub validates a card's metadata against its own lists (licenses, tasks, sizes); that
        validator is the Hub's and out of reach here. This records what was sent and accepts it."""
        self.validated.append(await request.json())
        return JSONResponse({"errors": [], "warnings": []})

    async def preupload(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        files = (await request.json())["files"]
        return JSONResponse(
            {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        )

    async def commit(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        repo = f"{request.path_params['org']}/{request.path_params['name']}"
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        paths = []
        for line in lines:
            if line["key"] == "file":
                value = line["value"]
                target = self.root / repo / value["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(value["content"]))
                paths.append(value["path"])
        self.commits.append({"repo": repo, "summary": header.get("summary"), "paths": sorted(paths)})
        oid = f"{len(self.commits):040x}"
        return JSONResponse({"commitUrl": f"{self.endpoint}/datasets/{repo}/commit/{oid}", "commitOid": oid})

    async def other(self, request: Request) -> JSONResponse:
        self.unknown.append(f"{request.method} {request.url.path}")
        return JSONResponse({"error": "not here"}, status_code=404)

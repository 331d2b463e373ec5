"""A real HTTP server on 127.0.0.1 that speaks enough of the Ollama API for the `ollama` client."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "qwen2.5:7b-instruct-q4_0"


def schema_answer(request: dict) -> dict:
    """A valid reply built from the request's `format` schema: speaker i gets role i (mod roles),
    and the text is said to hold as many people as there are speaker ids."""
    item = request["format"]["properties"]["speakers"]["items"]["properties"]
    speakers, roles = item["speaker"]["enum"], item["role"]["enum"]
    return {
        "speakers": [{"speaker": s, "role": roles[i % len(roles)]} for i, s in enumerate(speakers)],
        "speaker_count": len(speakers),
    }


class FakeOllama:
    """Ollama stand-in; tests set `answer`, `delay_s` or `malformed` and read `requests`.

    - `answer(request_json) -> str | dict | list`: the assistant content (dicts are JSON-encoded).
    - `delay_s`: wait this long before answering /api/chat.
    - `malformed`: "json" answers non-JSON content, "schema" off-schema JSON, "body" a non-Ollama body.
    - `fault`: "cut" sends half of the reply and closes the connection; "die" does the same and
      stops listening, as a server that crashed mid-answer; "huge" sends a reply of `huge_bytes`
      (10 MB) and records in `sent` how many bytes the client took before it hung up.
    """

    def __init__(self, models: tuple[str, ...] = (DEFAULT_MODEL,)):
        self.models = set(models)
        self.answer: Callable[[dict], Any] = schema_answer
        self.delay_s = 0.0
        self.malformed: str | None = None
        self.fault: str | None = None
        self.huge_bytes = 10_000_000
        self.sent: list[int] = []  # bytes of each "huge" reply written before the client hung up
        self.requests: list[dict] = []  # every /api/chat body, in arrival order
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOllama:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def content_for(self, request: dict) -> str:
        if self.malformed == "json":
            return "Sure! The doctor is SPEAKER_00 and {the patient"
        if self.malformed == "schema":
            return json.dumps({"speakers": [{"speaker": "SPEAKER_99", "role": "admin"}]})
        content = self.answer(request)
        return content if isinstance(content, str) else json.dumps(content)


def _handler(server: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def _body(self) -> dict | None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = None
            if not isinstance(body, dict):
                self._send(400, {"error": "invalid JSON body"})
                return None
            return body

        def _not_found(self, model: str) -> None:
            self._send(404, {"error": f"model '{model}' not found"})

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, b"Ollama is running", "text/plain")
            elif self.path == "/api/version":
                self._send(200, {"version": "0.6.0"})
            elif self.path == "/api/tags":
                now = datetime.now(timezone.utc).isoformat()
                models = [
                    {"name": m, "model": m, "modified_at": now, "size": 1, "digest": "0" * 64, "details": {}}
                    for m in sorted(server.models)
                ]
                self._send(200, {"models": models})
            else:
                self._send(404, b"404 page not found", "text/plain")

        def do_POST(self) -> None:
            body = self._body()
            if body is None:
                return
            model = str(body.get("model") or "")
            if self.path == "/api/show":
                if model not in server.models:
                    return self._not_found(model)
                return self._send(200, {"modelfile": "", "parameters": "", "template": "", "details": {}})
            if self.path != "/api/chat":
                return self._send(404, b"404 page not found", "text/plain")
            server.requests.append(body)
            messages = body.get("messages")
            if not model or not isinstance(messages, list) or not all(
                isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") for m in messages
            ):
                return self._send(400, {"error": "model and messages [{role, content}] are required"})
            if model not in server.models:
                return self._not_found(model)
            if server.delay_s and server._closing.wait(server.delay_s):
                return
            if server.malformed == "body":
                return self._send(200, b"<html>proxy error</html>", "text/html")
            if server.fault == "huge":
                return self._send_huge()
            message = {"role": "assistant", "content": server.content_for(body)}
            reply = {
                "model": model,
                "created_at": datetime.now(timezone.utc).isoformat(),
                "message": message,
                "done": True,
                "done_reason": "stop",
                "total_duration": 1_000_000,
                "load_duration": 1_000,
                "prompt_eval_count": 10,
                "prompt_eval_duration": 1_000,
                "eval_count": 10,
                "eval_duration": 1_000,
            }
            if body.get("stream", True):
                # Ollama streams NDJSON unless told otherwise; one final chunk is a valid stream.
                return self._send(200, (json.dumps(reply) + "\n").encode(), "application/x-ndjson")
            if server.fault in ("cut", "die"):
                return self._send_half(json.dumps(reply).encode(), stop=server.fault == "die")
            self._send(200, reply)

        def _send_half(self, data: bytes, stop: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if stop:  # no longer listening before the connection drops: a retry finds nobody
                server._httpd.shutdown()
                server._httpd.server_close()
            self.close_connection = True

        def _send_huge(self) -> None:
            head = b'{"model":"m","created_at":"2024-01-01T00:00:00Z","done":true,"message":{"role":"assistant","content":"'
            tail = b'"}}'
            filler = server.huge_bytes - len(head) - len(tail)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(server.huge_bytes))
            self.end_headers()
            sent = 0
            try:
                self.wfile.write(head)
                block = b"x" * 65536
                while sent < filler:
                    sent += self.wfile.write(block[: filler - sent])
                self.wfile.write(tail)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            server.sent.append(len(head) + sent)

    return Handler

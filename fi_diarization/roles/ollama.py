"""Ollama chat client: JSON-schema constrained answers, retries, one error type."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel
import ollama

from ..settings import DEFAULT_OLLAMA_HOST, DEFAULT_OLLAMA_MODEL

__all__ = ["LLMUnavailable", "OllamaChat"]

# Nothing listening should fail in seconds, whatever the generation timeout is.
_CONNECT_TIMEOUT_S = 5.0
# A role answer is a few hundred bytes of JSON; a reply is read no further than this.
MAX_REPLY_BYTES = 1 << 20


class _ReplyTooLarge(Exception):
    """The reply body went past the cap; reading stopped there."""


class _CappedStream(httpx.SyncByteStream):
    """A response body that raises once more than `limit` bytes have arrived."""

    def __init__(self, stream: httpx.SyncByteStream, limit: int):
        self._stream, self._limit = stream, limit

    def __iter__(self):
        seen = 0
        for chunk in self._stream:
            seen += len(chunk)
            if seen > self._limit:
                raise _ReplyTooLarge
            yield chunk

    def close(self) -> None:
        self._stream.close()


def _cap_reply(limit: int) -> Callable[[httpx.Response], None]:
    """An httpx response hook (it runs before the body is read, whatever the transport or proxy)."""

    def hook(response: httpx.Response) -> None:
        response.stream = _CappedStream(response.stream, limit)

    return hook


class LLMUnavailable(Exception):
    """The LLM gave no usable answer; `reason` is one line for metadata and `status`."""

    def __init__(self, reason: str, kind: str = "error"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # unreachable | model_missing | timeout | invalid | transient | error


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class OllamaChat(BaseModel):
    """Ollama chat client with JSON-schema output.

    The retry loop is written out rather than taken from a retry library: the official client
    has no retries of its own, and each fault kind needs its own rule (a server that is not
    there fails at once, a missing model names the pull to run, timeouts and bad answers back
    off), which is as long to say in a library's predicates as here.
    """

    host: str = DEFAULT_OLLAMA_HOST
    model: str = DEFAULT_OLLAMA_MODEL
    timeout_s: float = 120.0
    keep_alive: str = "10m"
    retries: int = 2
    backoff_s: float = 1.0
    max_reply_bytes: int = MAX_REPLY_BYTES

    def _client(self) -> ollama.Client:
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, _CONNECT_TIMEOUT_S))
        return ollama.Client(host=self.host, timeout=timeout, event_hooks={"response": [_cap_reply(self.max_reply_bytes)]})

    def _unreachable(self) -> LLMUnavailable:
        return LLMUnavailable(
            f"no Ollama server at {self.host}: start it with `ollama serve` and `ollama pull {self.model}` "
            "(or `docker compose -f deploy/docker-compose.yml up -d ollama`); roles left empty",
            "unreachable",
        )

    def chat_json(
        self,
        messages: list[dict],
        schema: dict,
        validate: Callable[[dict], Any] | None = None,
        log: logging.Logger | None = None,
    ) -> Any:
        """Ask for a reply constrained to `schema`; returns the parsed JSON, or `validate(reply)`.

        `validate` raises ValueError for an answer outside the contract; such answers are
        retried like malformed JSON. Raises LLMUnavailable with a one-line reason.
        """
        log = log or logging.getLogger(__name__)
        attempts = max(0, self.retries) + 1
        last: LLMUnavailable | None = None
        with self._client() as client:
            for attempt in range(attempts):
                if attempt:
                    delay = self.backoff_s * 2 ** (attempt - 1)
                    log.warning(f"Ollama attempt {attempt}/{attempts} failed ({last.reason}); retrying in {delay:g}s")
                    time.sleep(delay)
                try:
                    return self._attempt(client, messages, schema, validate)
                except LLMUnavailable as err:
                    if err.kind in ("unreachable", "model_missing", "error"):
                        raise
                    last = err
        assert last is not None
        if last.kind == "timeout":
            raise LLMUnavailable(
                f"Ollama at {self.host} timed out after {self.timeout_s:g}s on {attempts} attempt(s) "
                f"(model '{self.model}'); raise timeout_s or use a smaller model",
                "timeout",
            )
        if last.kind == "transient":
            raise LLMUnavailable(
                f"Ollama at {self.host} failed on {attempts} attempt(s) (model '{self.model}'): {last.reason}",
                "error",
            )
        raise LLMUnavailable(
            f"invalid answer from model '{self.model}' after {attempts} attempt(s): {last.reason}", "invalid"
        )

    def _attempt(self, client: ollama.Client, messages, schema, validate) -> Any:
        try:
            response = client.chat(
                model=self.model,
                messages=messages,
                format=schema,
                options={"temperature": 0},
                keep_alive=self.keep_alive,
            )
        except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise self._unreachable() from err
        except httpx.TimeoutException as err:
            raise LLMUnavailable("timeout", "timeout") from err
        except _ReplyTooLarge:
            raise LLMUnavailable(f"the reply is over {self.max_reply_bytes} bytes; not read further", "invalid") from None
        except ollama.ResponseError as err:
            if err.status_code == 404:
                raise LLMUnavailable(
                    f"model '{self.model}' is not pulled on {self.host}: run `ollama pull {self.model}`",
                    "model_missing",
                ) from err
            if err.status_code >= 500:
                # Model load failures and overloads are often transient; retried as a timeout-like fault.
                raise LLMUnavailable(_one_line(f"server error {err.status_code}: {err.error}"), "transient") from err
            raise LLMUnavailable(
                _one_line(f"Ollama at {self.host} refused the request ({err.status_code}): {err.error}"), "error"
            ) from err
        except httpx.UnsupportedProtocol as err:
            raise LLMUnavailable(_one_line(f"bad Ollama host {self.host!r}: {err}"), "error") from err
        except httpx.TransportError as err:
            raise LLMUnavailable(_one_line(f"connection failed: {type(err).__name__}: {err}"), "transient") from err
        except ValueError as err:
            # A body that is not Ollama's JSON envelope: a proxy page, or another service on the port.
            raise LLMUnavailable(_one_line(f"the reply is not an Ollama API response ({err})"), "transient") from err

        content = response.message.content or ""
        try:
            reply = json.loads(content)
        except json.JSONDecodeError:
            raise LLMUnavailable(_one_line(f"not JSON: {content!r}", 120), "invalid") from None
        if validate is None:
            return reply
        try:
            return validate(reply)
        except ValueError as err:
            raise LLMUnavailable(_one_line(f"off-schema: {err}", 160), "invalid") from None

"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


# --- Ollama: a real HTTP server on 127.0.0.1 speaking the Ollama API -------------------
@pytest.fixture
def ollama_server(monkeypatch):
    """A started FakeOllama; set `answer`, `delay_s`, `malformed`; read `requests`."""
    from fi_diarization_tests.ollama_server import FakeOllama

    # A proxy from the environment must not intercept 127.0.0.1.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeOllama() as server:
        yield server


# --- end Ollama ---------------------------------------------------------------------------

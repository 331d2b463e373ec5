"""Work started early in this process and collected later by key (the speaker stage beside Whisper)."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

__all__ = ["start", "take"]

_pending: dict[str, Future] = {}
_queue: queue.SimpleQueue = queue.SimpleQueue()
_lock = threading.Lock()
_worker: threading.Thread | None = None


def _serve() -> None:
    # The lowest priority, for this thread only (Linux schedules threads alone): it gets the
    # cycles Whisper leaves idle and waits while Whisper can use both cores. At the default
    # priority it took a core from Whisper's two OpenMP threads, which wait for each other at
    # every step: Whisper on a 20-minute file went from 53 s to 86 s beside a 16 s speaker stage.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):  # not Linux, or not allowed: the default priority
        pass
    while True:
        future, fn, args, kwargs = _queue.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever takes the result
                future.set_exception(exc)


def start(key: str, fn: Callable, *args, **kwargs) -> None:
    """Queue `fn(*args, **kwargs)` for the background worker unless work under `key` is pending.

    One worker, a daemon thread at the lowest priority: the work should fill the core Whisper
    leaves idle rather than compete for both (plain faster-whisper keeps ~1.5 of 2 cores busy on
    a 5-minute file, measured), and a process that ends early (a failed run) does not wait for
    it, as `concurrent.futures`' non-daemon pool threads would.
    """
    global _worker
    with _lock:
        if key in _pending:
            return
        _pending[key] = future = Future()
        _queue.put((future, fn, args, kwargs))
        if _worker is None:
            _worker = threading.Thread(target=_serve, name="beside", daemon=True)
            _worker.start()


def take(key: str) -> Future | None:
    """The pending work under `key`, handed over once (None when none was started here)."""
    with _lock:
        return _pending.pop(key, None)


"""One BLAS thread per pipeline process: the same bits wherever a stage runs, and no spinning thread."""

from __future__ import annotations

__all__ = ["one_blas_thread"]


def one_blas_thread() -> None:
    """Limit every BLAS library loaded in this process to one thread, from now on.

    Measured here: numpy's OpenBLAS gives other bits with 1 and 2 threads (LAPACK's eigensolver
    in the speaker clustering; the mel filterbank product in faster-whisper's features), so a
    stage that ran beside another one (which limited the threads for a while) gave other words
    and turn edges than the same stage alone, and a resumed run differed from a whole one.
    OpenBLAS's second thread also spins between calls, taking the core Whisper needs (5-minute
    file beside the speaker stage: Whisper 19.0 s with it, 16.3 s without). Whisper itself
    (CTranslate2, its own OpenMP threads) and onnxruntime are not BLAS and keep their threads;
    plain faster-whisper is as fast with one BLAS thread (17.7/19.6 s vs 19.3/17.5 s, 5 min).
    Called where work starts (the model load, the speaker stage), as libraries load lazily;
    never undone, so no thread restores another thread's limit mid-computation.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")

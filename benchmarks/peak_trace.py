"""Where a `transcribe` peaks: ``python benchmarks/peak_trace.py transcribe FILE [options]``.

Runs the CLI in this process while a thread polls the RSS every 10 ms and, at each new high
(5 MiB above the last), writes it with every thread's stack to ``$PEAKOUT`` (default
``peak.txt``). The file is rewritten at each high because the CLI leaves with `os._exit`.
"""

import os
import sys
import threading
import time
import traceback

_OUT = os.environ.get("PEAKOUT", "peak.txt")
_START = time.time()


def _rss_mib() -> int:
    with open("/proc/self/status") as fh:
        return int(fh.read().split("VmRSS:")[1].split()[0]) // 1024


def _write(rss: int) -> None:
    me = threading.get_ident()
    lines = [f"peak {rss} MiB at {time.time() - _START:.1f} s"]
    for ident, frame in sys._current_frames().items():
        if ident != me:
            lines.append(f"--- thread {ident}")
            lines += [f"{f.filename.split('site-packages/')[-1]}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)[-8:]]
    with open(_OUT, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _poll() -> None:
    high = 0
    while True:
        rss = _rss_mib()
        if rss > high + 5:
            high = rss
            _write(rss)
        time.sleep(0.01)


if __name__ == "__main__":
    threading.Thread(target=_poll, daemon=True).start()
    sys.argv = ["fi-diarization", *sys.argv[1:]]
    from fi_diarization.cli import entry

    entry()

"""Atomic Parquet writes: a reader sees the old file or the new one, never half of one."""

import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq

from fi_diarization.store import write_parquet_atomic


def test_write_replaces_whole_file(tmp_path):
    path = tmp_path / "t" / "x.parquet"
    write_parquet_atomic(pa.table({"a": [1, 2]}), path)
    write_parquet_atomic(pa.table({"a": [3]}), path)
    assert pq.read_table(path).column("a").to_pylist() == [3]
    assert [p.name for p in path.parent.iterdir()] == ["x.parquet"]


def test_kill_between_write_and_rename_keeps_the_old_file(tmp_path):
    path = tmp_path / "x.parquet"
    write_parquet_atomic(pa.table({"a": [1, 2, 3]}), path)
    # The child writes a new version and is SIGKILLed just before the rename.
    child = textwrap.dedent(
        f"""
        import os, signal
        import pyarrow as pa
        from fi_diarization import store as io_manager
        io_manager.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        io_manager.write_parquet_atomic(pa.table({{"a": list(range(100000))}}), {str(path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", child])
    assert proc.returncode == -9
    assert pq.read_table(path).column("a").to_pylist() == [1, 2, 3]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "x.parquet"]
    assert leftovers and all(name.startswith(".") for name in leftovers)  # hidden, never read as a result

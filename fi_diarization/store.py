"""Writes that readers see whole or not at all: one write-then-rename helper for every file."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["StorageError", "atomic_path", "write_bytes_atomic", "write_json_atomic", "write_parquet_atomic", "copy_atomic"]


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


class StorageError(OSError):
    """A write the storage refused (full, read-only); the file it was to replace is untouched."""

    def __str__(self) -> str:
        return str(self.strerror)


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside `dest`; on success it is fsynced and renamed onto `dest`.

    A crash (even SIGKILL) leaves either the old `dest` or the new one, never a partial file;
    the temporary file is removed on any error. A full or read-only storage raises
    `StorageError` with a one-line reason.
    """
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as err:
        if isinstance(err, StorageError) or err.errno not in _FULL | _NOT_WRITABLE:
            raise
        what = "storage full" if err.errno in _FULL else "storage not writable"
        raise StorageError(err.errno, f"{what}: could not write {dest} ({os.strerror(err.errno)})") from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_bytes_atomic(data: bytes, dest: Path) -> None:
    """Write `data` to `dest` through `atomic_path`."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(obj: object, dest: Path) -> None:
    """Write `obj` as JSON to `dest` through `atomic_path`."""
    write_bytes_atomic(json.dumps(obj, ensure_ascii=False).encode(), dest)


def write_parquet_atomic(table, dest: Path) -> None:
    """Write a pyarrow table to `dest` through `atomic_path`."""
    import pyarrow.parquet as pq

    with atomic_path(dest) as tmp:
        pq.write_table(table, tmp)


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy `src` to `dest` through `atomic_path`."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)

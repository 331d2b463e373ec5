"""Where files live and how they are written: a local folder or an object store, behind one path.

Every write goes through `atomic_path`, so a reader sees a file whole or not at all:

- local folder: a hidden temporary file beside the target, fsynced, then `os.replace`d onto it;
- object store (`s3://…` and whatever else fsspec opens): the file is finished in a local
  temporary folder and sent as one upload of the finished object. S3 makes an object visible
  only once its PUT (or, above 100 MiB, its multipart upload) completes, so no reader ever
  sees part of one; there is no rename, and two writers of one key both succeed, the last wins.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Union

__all__ = [
    "StorageError",
    "AnyPath",
    "as_path",
    "is_local",
    "atomic_path",
    "exclusive",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "copy_atomic",
    "move_atomic",
    "remove",
    "local_file",
    "cached_local_copy",
    "local_cache_path",
    "read_parquet",
    "read_parquet_schema",
]

AnyPath = Union[Path, "UPath"]  # noqa: F821 - a local Path, or a UPath on an object store

# Listings are read fresh: the inbox sensor and the chunk cache must see objects that other
# processes and hosts wrote since the last look (fsspec caches listings per filesystem).
_REMOTE_OPTIONS = {"use_listings_cache": False}


def as_path(location: str | os.PathLike | AnyPath) -> AnyPath:
    """A local `Path` for a folder or `file://` URL, a `UPath` for any other URL."""
    if not isinstance(location, (str, PurePath)):
        return location  # already a UPath
    text = str(location)
    if "://" not in text or text.startswith("file://"):
        return Path(text.removeprefix("file://")).expanduser()
    from upath import UPath

    return UPath(text, **_REMOTE_OPTIONS)


def is_local(path: AnyPath) -> bool:
    """True for a path on this machine's filesystem."""
    return isinstance(path, PurePath) and getattr(path, "protocol", "") in ("", "file", "local")


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


class StorageError(OSError):
    """A write the storage refused (full, read-only); the file it was to replace is untouched."""

    def __str__(self) -> str:
        return str(self.strerror)


def _local_tmp(dest: AnyPath) -> Path:
    return Path(tempfile.mkdtemp(prefix="fi-put-")) / f".{dest.name}.{uuid.uuid4().hex}.tmp"


@contextlib.contextmanager
def atomic_path(dest: AnyPath) -> Iterator[Path]:
    """Yield a local temporary path to write; on success it becomes `dest` in one step.

    Locally: a hidden file beside `dest`, fsynced and renamed onto it. A crash (even SIGKILL)
    leaves either the old `dest` or the new one, never a partial file. On an object store: a
    file in a local temporary folder, uploaded whole when the block ends. The temporary file
    is removed on any error. A full or read-only storage raises `StorageError` with a
    one-line reason.
    """
    dest = as_path(dest)
    if not is_local(dest):
        tmp = _local_tmp(dest)
        try:
            yield tmp
            dest.fs.put_file(str(tmp), dest.path)
        finally:
            shutil.rmtree(tmp.parent, ignore_errors=True)
        return
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


@contextlib.contextmanager
def exclusive(path: AnyPath) -> Iterator[None]:
    """Hold an exclusive lock named after `path` (a `.lock` file beside it) for the block.

    For work that two processes of this machine may start on the same content (two runs of one
    file): the second waits, then finds the first one's result. The
    kernel drops the lock when its holder dies, SIGKILL included. On an object store there is
    no shared lock and the block runs unlocked (the work is idempotent; only time is lost).
    """
    path = as_path(path)
    if not is_local(path):
        yield
        return
    import fcntl

    lock = Path(path).with_name(f".{Path(path).name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_bytes_atomic(data: bytes, dest: AnyPath) -> None:
    """Write `data` to `dest` through `atomic_path`."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(obj: object, dest: AnyPath) -> None:
    """Write `obj` as JSON to `dest` through `atomic_path`."""
    write_bytes_atomic(json.dumps(obj, ensure_ascii=False).encode(), dest)


def write_parquet_atomic(table, dest: AnyPath) -> None:
    """Write a pyarrow table to `dest` through `atomic_path`."""
    import pyarrow.parquet as pq

    with atomic_path(dest) as tmp:
        pq.write_table(table, tmp)


def copy_atomic(src: AnyPath, dest: AnyPath) -> None:
    """Copy `src` to `dest`, each local or remote; `dest` appears whole or not at all."""
    src, dest = as_path(src), as_path(dest)
    if not is_local(dest) and is_local(src):
        dest.fs.put_file(str(src), dest.path)  # the finished file, uploaded as one object
    elif not is_local(dest) and not is_local(src) and src.fs is dest.fs:
        dest.fs.copy(src.path, dest.path)  # server-side: the new object appears whole
    else:
        with local_file(src) as local, atomic_path(dest) as tmp:
            shutil.copyfile(local, tmp)


def move_atomic(src: AnyPath, dest: AnyPath) -> None:
    """Move `src` to `dest`: a rename on one local filesystem, else a whole copy, then delete."""
    src, dest = as_path(src), as_path(dest)
    if is_local(src) and is_local(dest):
        try:
            os.replace(src, dest)
            return
        except OSError:  # another filesystem
            if Path(src).is_symlink() or not Path(src).is_file():
                shutil.move(src, dest)  # a link or a folder (quarantined as it was found)
                return
    copy_atomic(src, dest)
    remove(src)


def remove(path: AnyPath) -> None:
    """Delete a file if it is there."""
    path = as_path(path)
    if is_local(path):
        Path(path).unlink(missing_ok=True)
    elif path.exists():
        path.fs.rm_file(path.path)


@contextlib.contextmanager
def local_file(path: AnyPath) -> Iterator[Path]:
    """`path` itself when local, else a downloaded copy under the same name (deleted afterwards)."""
    path = as_path(path)
    if is_local(path):
        yield Path(path)
        return
    folder = Path(tempfile.mkdtemp(prefix="fi-get-"))
    try:
        local = folder / path.name
        path.fs.get_file(path.path, str(local))
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def local_cache_path(path: AnyPath, cache: Path) -> Path:
    """Where `cached_local_copy` keeps this machine's copy of a remote object."""
    return cache / hashlib.sha256(str(path).encode()).hexdigest()[:16] / path.name


def cached_local_copy(path: AnyPath, cache: Path) -> Path:
    """A local copy of an object that never changes once written (content-addressed samples, a
    stored original), downloaded once into `cache` and reused; `path` itself when local."""
    path = as_path(path)
    if is_local(path):
        return Path(path)
    local = local_cache_path(path, cache)
    if not local.is_file():  # written through atomic_path: present means whole
        with atomic_path(local) as tmp:
            path.fs.get_file(path.path, str(tmp))
    return local


def read_parquet(path: AnyPath, **kwargs):
    """A Parquet file as a pyarrow Table, from a local folder or through the store's filesystem."""
    import pyarrow.parquet as pq

    path = as_path(path)
    if is_local(path):
        return pq.read_table(path, **kwargs)
    return pq.read_table(path.path, filesystem=path.fs, **kwargs)


def read_parquet_schema(path: AnyPath):
    """Only the schema (and footer metadata) of a Parquet file."""
    import pyarrow.parquet as pq

    path = as_path(path)
    if is_local(path):
        return pq.read_schema(path)
    return pq.read_schema(path.path, filesystem=path.fs)

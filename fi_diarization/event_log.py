"""Two changes to Dagster's SQLite storage: a pool slot claim that holds across processes, and a
run in this process that keeps its connections.

**The claim.** Dagster claims a pool slot by selecting a free slot row, then updating that row by id. On
Postgres the select locks the row (`FOR UPDATE SKIP LOCKED`); SQLite ignores the lock, so two
processes can select the same free slot and both "claim" it. Measured here: four processes
taking a pool of 2 120 times lost the slot row in 2-7 claims per try (six tries), and a CI run of
`test_pool` saw three `whisper` ops at once under a pool of 2. The claim below updates the row
only while it is still free (compare-and-set; SQLite serializes writes), so a lost race is a
blocked claim that Dagster retries, never a pool over its limit.

Why a patch and not a storage class named in dagster.yaml: a storage class gets only its yaml
config, not the instance folder, and that folder would have to be written into every
dagster.yaml. The claim runs in the process that executes a run's plan (the CLI, a run
worker), which loads the code location, so `definitions.py` applies it. Dagster is pinned in
pyproject.toml; `test_pool.py` races processes on this claim, so an upgrade that changes it shows.

**The connections** (`keep_connections`, the CLI's instance only). Dagster's SQLite event log creates
an engine, opens the file, and disposes of it (the last close checkpoints the WAL) for every
statement: a 30-second file's run opened 365 connections, 114 event writes and 95 "does this
partition exist" queries among them. Kept per shard, and with the partitions this run has seen
remembered, the run no longer pays that (measured in `benchmarks/RESULTS.md`).
"""

import contextlib
import os
import types
from collections import OrderedDict
from collections.abc import Iterator

import dagster as dg
import sqlalchemy as db
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._utils.concurrency import ConcurrencySlotStatus
from sqlalchemy.pool import StaticPool

__all__ = ["hold_pool_slots", "keep_connections"]

# Shards whose engine stays open: the index shard and the runs this process is writing.
_KEPT_SHARDS = 4


def _claim_if_free(
    self: SqliteEventLogStorage, concurrency_key: str, run_id: str, step_key: str
) -> ConcurrencySlotStatus:
    slots = ConcurrencySlotsTable.c
    free = db.and_(slots.concurrency_key == concurrency_key, slots.step_key.is_(None), slots.deleted == False)  # noqa: E712
    with self.index_connection() as conn:
        slot_id = conn.execute(db.select(slots.id).where(free).limit(1)).scalar()
        if slot_id is None:
            return ConcurrencySlotStatus.BLOCKED
        taken = conn.execute(
            ConcurrencySlotsTable.update().values(run_id=run_id, step_key=step_key).where(slots.id == slot_id, free)
        ).rowcount
    return ConcurrencySlotStatus.CLAIMED if taken else ConcurrencySlotStatus.BLOCKED


def hold_pool_slots() -> None:
    """Make SQLite pool slot claims compare-and-set (Postgres and MySQL storages are untouched)."""
    SqliteEventLogStorage._claim_concurrency_slot = _claim_if_free


def _kept_connect(self: SqliteEventLogStorage, shard: str) -> Iterator[db.Connection]:
    """Dagster's `_connect`, with the shard's engine (one SQLite connection) kept for the next statement.

    The storage's own lock still holds the connection for one statement at a time, from whichever
    thread; each statement still commits before the lock is let go, so what is written is on disk
    as before (`test_event_log`: another process reads every event of a killed run).
    """
    with self._db_lock:
        kept = self.__dict__.get("_kept_engines")
        if kept is None or kept[0] != os.getpid():  # a forked child opens its own
            kept = self.__dict__["_kept_engines"] = (os.getpid(), OrderedDict())
        engines = kept[1]
        engine = engines.get(shard)
        if engine is None:
            engine = engines[shard] = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            while len(engines) > _KEPT_SHARDS:
                engines.popitem(last=False)[1].dispose()
        engines.move_to_end(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def _remembering(has_dynamic_partition):
    known: set[tuple[str, str]] = set()  # a set's `in` and `add` are atomic: threads may share it

    def has(self: dg.DagsterInstance, partitions_def_name: str, partition_key: str) -> bool:
        if (partitions_def_name, partition_key) in known:
            return True
        found = has_dynamic_partition(partitions_def_name, partition_key)
        if found:  # only a partition that exists is remembered: one added later is still found
            known.add((partitions_def_name, partition_key))
        return found

    return has


def keep_connections(instance: dg.DagsterInstance) -> None:
    """Keep this instance's SQLite event-log connections open, and remember the partitions it has seen.

    For an instance that runs jobs in this process and then ends (the CLI): a partition found is
    taken to exist until the process ends. Other storages are left as they are.
    """
    storage = instance.event_log_storage
    if type(storage) is SqliteEventLogStorage:
        storage._connect = types.MethodType(contextlib.contextmanager(_kept_connect), storage)
    instance.has_dynamic_partition = types.MethodType(_remembering(instance.has_dynamic_partition), instance)

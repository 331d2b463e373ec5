"""A pool slot claim on Dagster's SQLite event log that holds across processes.

Dagster claims a pool slot by selecting a free slot row, then updating that row by id. On
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
"""

import sqlalchemy as db
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import ConcurrencySlotsTable
from dagster._utils.concurrency import ConcurrencySlotStatus

__all__ = ["hold_pool_slots"]


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

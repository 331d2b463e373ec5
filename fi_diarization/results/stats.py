"""Processing stats across files: one row per file outcome, a summary, a plot; no Dagster, no audio."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..settings import Settings, get_settings
from .tables import settings_at

__all__ = [
    "STATS_ASSET",
    "STATS_SCHEMA",
    "FILE_FIELDS",
    "stats_table",
    "summarize",
    "stats_png",
    "stats_path",
    "load_stats",
]

STATS_ASSET = "processing_stats"

# What the `transcript` asset puts in its metadata and the stats read back, under these names.
FILE_FIELDS = {
    "duration_s": pa.float64(),
    "words": pa.int64(),
    "speakers": pa.int64(),
    "language": pa.string(),
    "model": pa.string(),
    "wall_s": pa.float64(),
    "rtf": pa.float64(),
}

STATS_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("status", pa.string()),  # done | failed | rejected
        ("reason", pa.string()),
        ("at", pa.timestamp("s", tz="UTC")),  # materialized, failed or quarantined
        ("day", pa.string()),  # UTC date of `at`
        *FILE_FIELDS.items(),
    ]
)


def stats_table(rows: list[dict]) -> pa.Table:
    """Rows (audio_id, status, reason, at as epoch seconds, and any FILE_FIELDS) as a STATS_SCHEMA table."""
    shaped = []
    for row in rows:
        at = datetime.datetime.fromtimestamp(float(row["at"]), tz=datetime.timezone.utc)
        shaped.append(
            {
                **{k: _clean(row.get(k)) for k in FILE_FIELDS},
                "audio_id": row["audio_id"],
                "status": row["status"],
                "reason": row.get("reason") or None,
                "at": at,
                "day": at.date().isoformat(),
            }
        )
    shaped.sort(key=lambda r: (r["at"], r["audio_id"], r["status"]))
    return pa.Table.from_pylist(shaped, schema=STATS_SCHEMA)


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def summarize(table: pd.DataFrame) -> dict:
    """p50/p95 real-time factor, audio minutes per day, failures and rejections by reason, speakers per file."""
    done = table[table["status"] == "done"]
    rtf = done["rtf"].dropna().astype(float).to_numpy()
    return {
        "files": int(table["audio_id"].nunique()),
        "done": len(done),
        "failed": int((table["status"] == "failed").sum()),
        "rejected": int((table["status"] == "rejected").sum()),
        "p50_rtf": float(np.percentile(rtf, 50)) if len(rtf) else None,
        "p95_rtf": float(np.percentile(rtf, 95)) if len(rtf) else None,
        "audio_minutes_per_day": {
            day: round(float(seconds) / 60, 3) for day, seconds in done.groupby("day")["duration_s"].sum().items()
        },
        "failures_by_reason": _by_reason(table, "failed"),
        "rejections_by_reason": _by_reason(table, "rejected"),
        "speakers_per_file": {
            str(int(n)): int(count) for n, count in sorted(Counter(done["speakers"].dropna().astype(int)).items())
        },
    }


def _by_reason(table: pd.DataFrame, status: str) -> dict[str, int]:
    reasons = table.loc[table["status"] == status, "reason"].fillna("unknown")
    return dict(Counter(reasons).most_common())


def stats_png(table: pd.DataFrame) -> bytes:
    """Three panels: audio minutes per day, real-time factor per file (p50/p95 lines), speakers per file."""
    from .plots import figure, png_bytes

    summary = summarize(table)
    done = table[table["status"] == "done"]
    fig = figure(11.0, 3.0)
    days, rtf_ax, spk = fig.subplots(1, 3)
    per_day = summary["audio_minutes_per_day"]
    days.bar(list(per_day), list(per_day.values()), color="#0072B2")
    days.set_title("audio minutes per day (UTC)", fontsize="medium")
    days.tick_params(axis="x", labelrotation=30, labelsize="small")
    values = done["rtf"].dropna().astype(float).sort_values().to_numpy()
    rtf_ax.plot(range(1, len(values) + 1), values, "o", color="#E69F00")
    for name, style in (("p50_rtf", "-"), ("p95_rtf", "--")):
        if summary[name] is not None:
            rtf_ax.axhline(summary[name], linestyle=style, color="#555555", label=f"{name[:3]} {summary[name]:.2f}")
    if len(values):
        rtf_ax.legend(fontsize="small", frameon=False)
    rtf_ax.set_title("real-time factor per file (sorted)", fontsize="medium")
    rtf_ax.set_ylim(bottom=0)
    counts = summary["speakers_per_file"]
    spk.bar(list(counts), list(counts.values()), color="#009E73")
    spk.set_title("files by speaker count", fontsize="medium")
    for ax, shown in ((days, per_day), (rtf_ax, len(values)), (spk, counts)):
        if not shown:
            ax.set_xticks([]), ax.set_yticks([])
            ax.text(0.5, 0.5, "no files yet", transform=ax.transAxes, ha="center", va="center", color="#555555")
    return png_bytes(fig)


def stats_path(settings: Settings | None = None) -> Path:
    """Where the `processing_stats` asset keeps its table."""
    return (settings or get_settings()).storage / f"{STATS_ASSET}.parquet"


def load_stats(*, home: Path | None = None) -> pd.DataFrame:
    """The processing stats table as last materialized (empty, with its columns, before the first).

    Args:
      home: Data root; defaults to `FI_DIARIZATION_HOME`.

    Returns:
      One row per file outcome: audio_id, status (done, failed, rejected), reason, at, day,
      duration_s, words, speakers, language, model, wall_s (seconds over every stage), rtf.
    """
    path = stats_path(settings_at(home))
    table = pq.read_table(path) if path.is_file() else STATS_SCHEMA.empty_table()
    return table.to_pandas()

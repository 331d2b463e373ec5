"""Parquet IO manager: one file per asset partition, written atomically."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from ..settings import get_settings
from ..store import write_parquet_atomic

__all__ = ["ParquetIOManager", "PARQUET"]

PARQUET = "parquet_io_manager"


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Stores each table asset at `<base_dir>/<asset>/<partition>.parquet`."""

    base_dir: str | None = None

    def create_io_manager(self, context) -> "_ParquetUPathIOManager":
        # Read at run time, not import time: FI_DIARIZATION_HOME may differ per run.
        return _ParquetUPathIOManager(base_path=UPath(self.base_dir or get_settings().storage))


class _ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        if isinstance(obj, pd.DataFrame):
            obj = pa.Table.from_pandas(obj, preserve_index=False)
        if not isinstance(obj, pa.Table):
            raise TypeError(f"ParquetIOManager stores pyarrow Tables or DataFrames, got {type(obj).__name__}")
        write_parquet_atomic(obj, Path(str(path)))
        context.add_output_metadata({"rows": obj.num_rows})

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return pq.read_table(Path(str(path))).to_pandas()

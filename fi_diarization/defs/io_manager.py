"""Parquet IO manager: one file per asset partition, written atomically."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
from upath import UPath

from ..settings import get_settings
from ..store import read_parquet, write_parquet_atomic

__all__ = ["ParquetIOManager", "PARQUET"]

PARQUET = "parquet_io_manager"


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Stores each table asset at `<base_dir>/<asset>/<partition>.parquet`, in a folder or an object store."""

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
        write_parquet_atomic(obj, path)
        context.add_output_metadata({"rows": obj.num_rows})

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return read_parquet(path).to_pandas()

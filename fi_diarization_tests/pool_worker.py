"""One run of the transcription assets for one audio id, as a separate process (test_pool)."""

import sys

import dagster as dg

from fi_diarization.defs.config import run_config_for
from fi_diarization.definitions import transcribe_job
from fi_diarization.options import RunOptions
from fi_diarization.tags import PARTITION_TAG
from fi_diarization_tests.conftest import TEST_MODEL

TRANSCRIPTION = [dg.AssetKey("audio"), dg.AssetKey("chunks"), dg.AssetKey("transcription")]


def main(audio_id: str) -> int:
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(transcribe_job),
            instance=instance,
            run_config=run_config_for(RunOptions(model=TEST_MODEL)).to_config_dict(),
            tags={PARTITION_TAG: audio_id},
            asset_selection=TRANSCRIPTION,
        )
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

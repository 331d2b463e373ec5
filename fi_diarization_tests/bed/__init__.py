"""Human-voice test bed: conversations voiced by Festival voices of real speakers.

Each `NAME.flac` (16 kHz mono) has `NAME.truth.json` (the fixtures' truth format plus
`split`, `num_speakers`, `conditions`, `voices`) and `NAME.rttm`. Files with split
"check" are held out: calibration and tuning must only look at split "tune".
Regenerate with `python fi_diarization_tests/bed/make_bed.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["BED_DIR", "bed_files"]

BED_DIR = Path(__file__).resolve().parent


def bed_files(split: str | None = None, folder: Path = BED_DIR) -> list[dict]:
    """The bed's truths sorted by name, each with "path" (the audio file) added.

    Args:
      split: "tune" or "check" to keep only that split; None for all.
      folder: Where the truths lie (`make_bed.py --extra DIR` writes a tuning set elsewhere).
    """
    if split not in (None, "tune", "check"):
        raise ValueError(f"split must be 'tune', 'check' or None, not {split!r}")
    folder, out = Path(folder), []
    for truth_path in sorted(folder.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        if split is not None and truth.get("split") != split:
            continue
        truth["path"] = str(folder / truth["audio"])
        out.append(truth)
    return out

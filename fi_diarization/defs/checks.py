"""Asset checks on each transcript: words cover the speech, no empty segments, speaker count, roles."""

import warnings

import dagster as dg
import pandas as pd

from ..results.plots import clock_label
from ..results.quality import MAX_VOICED_GAP_S, empty_segments, voiced_holes
from .config import options_of
from .partitions import audio_files

__all__ = ["TRANSCRIPT_CHECKS"]

# A check partitioned like its asset has one result per audio file; Dagster 1.13 calls
# `partitions_def` on a check "preview" and warns at every import (the CLI's stderr included).
warnings.filterwarnings("ignore", "Specifying a partitions_def on an AssetCheckSpec", dg.PreviewWarning)


def _words_cover_voiced_audio(transcript: pd.DataFrame, chunks: pd.DataFrame) -> dg.AssetCheckResult:
    """No stretch between two words holds more than 10 s of voiced audio (how lost words show)."""
    regions = [(float(r["start"]), float(r["end"])) for regs in chunks["regions"] for r in regs]
    words = [(float(w["start"]), float(w["end"])) for ws in transcript["words"] for w in ws]
    holes = voiced_holes(regions, words)
    description = (
        "; ".join(f"{h.voiced_s:.1f} s voiced without words in {clock_label(h.start)}–{clock_label(h.end)}" for h in holes)
        or f"no stretch of over {MAX_VOICED_GAP_S:.0f} s voiced audio without words"
    )
    return dg.AssetCheckResult(
        passed=not holes,
        description=description,
        metadata={
            "voiced_s": round(sum(e - s for s, e in regions), 2),
            "words": len(words),
            "holes": dg.MetadataValue.json([{"start": h.start, "end": h.end, "voiced_s": h.voiced_s} for h in holes]),
            "longest_hole_voiced_s": max((h.voiced_s for h in holes), default=0.0),
        },
    )


def _no_empty_segments(transcript: pd.DataFrame) -> dg.AssetCheckResult:
    """Every segment has text: a blank one is a cue or a speaker turn with nothing in it."""
    empty = empty_segments(transcript)
    return dg.AssetCheckResult(
        passed=empty.empty,
        description=f"{len(empty)} of {len(transcript)} segments have no text" if len(empty) else "every segment has text",
        metadata={"empty": len(empty), "first_empty_at": dg.MetadataValue.json([round(float(s), 2) for s in empty["start"].head(10)])},
    )


def _speaker_count_in_bounds(
    transcript: pd.DataFrame, audio: pd.DataFrame, speaker_turns: pd.DataFrame
) -> dg.AssetCheckResult:
    """The speakers found in the voices are the requested number, or within the requested bounds."""
    options = options_of(audio)
    low, high = (options.num_speakers,) * 2 if options.num_speakers else (options.min_speakers, options.max_speakers)
    voices = int(speaker_turns["speaker"].nunique())
    found = int(transcript["speaker"].nunique())
    bounds = f"{low}" if options.num_speakers else f"[{low}, {high}]"
    # No speech has no speakers: that is the empty transcript, not a wrong count. A voice with no
    # word in the transcript (a cough, a "mm") is no wrong count either: the voices are counted.
    passed = voices == 0 or (low <= voices <= high and found <= high)
    said = f"{voices} speakers" + (f" ({found} with words)" if found != voices else "")
    return dg.AssetCheckResult(
        passed=passed,
        description=f"{said}, requested {bounds}" if voices else "no speech, no speakers",
        metadata={"speakers": found, "voices": voices, "min": low, "max": high},
    )


def _roles_labelled(transcript: pd.DataFrame, speaker_roles: pd.DataFrame) -> dg.AssetCheckResult:
    """Every speaker has a role when the LLM answered; a warning with the reason when it did not."""
    reasons = [r for r in speaker_roles["reason"].dropna().unique() if r]
    if reasons:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, description=f"no roles: {reasons[0]}",
            metadata={"reason": reasons[0]},
        )
    labelled = transcript.dropna(subset=["role"])
    missing = sorted(set(transcript["speaker"]) - set(labelled["speaker"]))
    return dg.AssetCheckResult(
        passed=not missing,
        description=f"no role for {', '.join(missing)}" if missing else "every speaker has a role",
        metadata={"unlabelled": dg.MetadataValue.json(missing)},
    )


_TRANSCRIPT = dg.AssetKey("transcript")
_CHECKS = {  # name: (function, blocking, the other assets it reads)
    "words_cover_voiced_audio": (_words_cover_voiced_audio, False, ["chunks"]),
    "no_empty_segments": (_no_empty_segments, True, []),
    "speaker_count_in_bounds": (_speaker_count_in_bounds, True, ["audio", "speaker_turns"]),
    "roles_labelled": (_roles_labelled, False, ["speaker_roles"]),
}


# One op for the four checks: as four ops they were four steps, each loading its inputs and
# logging ~7 events: 0.43 s of a 30-second file's run against 0.32 s as one step.
@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            name, asset=_TRANSCRIPT, description=fn.__doc__, blocking=blocking, partitions_def=audio_files,
            additional_deps=reads,
        )
        for name, (fn, blocking, reads) in _CHECKS.items()
    ],
    can_subset=True,
)
def transcript_checks(
    context: dg.AssetCheckExecutionContext,
    transcript: pd.DataFrame,
    chunks: pd.DataFrame,
    audio: pd.DataFrame,
    speaker_turns: pd.DataFrame,
    speaker_roles: pd.DataFrame,
):
    """The transcript's checks, each run when selected (the UI can run one alone)."""
    inputs = {"transcript": transcript, "chunks": chunks, "audio": audio, "speaker_turns": speaker_turns, "speaker_roles": speaker_roles}
    selected = {key.name for key in context.selected_asset_check_keys}
    for name, (fn, _, reads) in _CHECKS.items():
        if name in selected:
            yield fn(transcript, *(inputs[r] for r in reads))._replace(check_name=name, asset_key=_TRANSCRIPT)


TRANSCRIPT_CHECKS = [transcript_checks]

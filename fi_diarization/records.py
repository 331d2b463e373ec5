"""Records and Parquet column schemas shared by the stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pyarrow as pa

__all__ = [
    "Word",
    "Segment",
    "Turn",
    "WORD_TYPE",
    "SEGMENT_SCHEMA",
    "TURN_SCHEMA",
    "SPEAKER_SEGMENT_SCHEMA",
    "TRANSCRIPT_SCHEMA",
    "segments_to_table",
    "segments_from_frame",
    "turns_from_frame",
    "speaker_segments_table",
]


@dataclass
class Word:
    """One recognised word in absolute seconds."""

    start: float
    end: float
    word: str
    probability: float = 1.0


@dataclass
class Segment:
    """A transcript segment in absolute seconds, with its words."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class Turn:
    """A stretch of audio attributed to one acoustic speaker."""

    start: float
    end: float
    speaker: str


WORD_TYPE = pa.list_(
    pa.struct(
        [
            ("start", pa.float64()),
            ("end", pa.float64()),
            ("word", pa.string()),
            ("probability", pa.float64()),
        ]
    )
)

SEGMENT_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("text", pa.string()),
        ("words", WORD_TYPE),
        ("language", pa.string()),
        ("model", pa.string()),
    ]
)

TURN_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("speaker", pa.string()),
        # How the count was reached (`CountEstimate.as_dict()` as JSON), the same on every row.
        ("count_estimate", pa.string()),
    ]
)

TRANSCRIPT_SCHEMA = pa.schema(
    [
        ("audio_id", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("speaker", pa.string()),
        ("role", pa.string()),
        ("text", pa.string()),
        ("language", pa.string()),
        ("model", pa.string()),
        ("words", WORD_TYPE),
    ]
)


# What the speaker stage writes: the transcript before roles are known.
SPEAKER_SEGMENT_SCHEMA = TRANSCRIPT_SCHEMA.remove(TRANSCRIPT_SCHEMA.get_field_index("role"))


def segments_to_table(segments: list[Segment], **columns: str) -> pa.Table:
    """Build a SEGMENT_SCHEMA table; ``columns`` fills the constant columns."""
    rows = [
        {**columns, "start": s.start, "end": s.end, "text": s.text, "words": [asdict(w) for w in s.words]}
        for s in segments
    ]
    return pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA)


def segments_from_frame(frame) -> list[Segment]:
    """Segments with their words from a table read back as a DataFrame (SEGMENT_SCHEMA or later)."""
    return [
        Segment(
            float(seg.start),
            float(seg.end),
            str(seg.text),
            [Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"])) for w in seg.words],
        )
        for seg in frame.itertuples()
    ]


def turns_from_frame(frame) -> list[Turn]:
    """Turns from a table read back as a DataFrame (TURN_SCHEMA, or any start/end/speaker columns)."""
    return [Turn(float(t.start), float(t.end), str(t.speaker)) for t in frame.itertuples()]


def speaker_segments_table(pairs: list[tuple[str, Segment]], frame) -> pa.Table:
    """A SPEAKER_SEGMENT_SCHEMA table from `(speaker, segment)` pairs; `frame` gives the constant columns."""
    # One audio file per partition: these columns are the same on every row.
    constant = frame.iloc[0][["audio_id", "language", "model"]].to_dict() if len(frame) else {}
    rows = [
        {**constant, "start": seg.start, "end": seg.end, "speaker": speaker, "text": seg.text,
         "words": [asdict(w) for w in seg.words]}
        for speaker, seg in pairs
    ]
    return pa.Table.from_pylist(rows, schema=SPEAKER_SEGMENT_SCHEMA)

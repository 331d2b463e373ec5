"""What a file is: allow-listed demuxers, audio streams, duration cap, whole files.

Every entry point (sensor, `audio` asset, CLI) asks this module before anything decodes a
file, and every refusal is one `RejectedAudio` with a one-line reason.
"""

from __future__ import annotations

import errno
import hashlib
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from .ids import shown_name

__all__ = ["AudioInfo", "RejectedAudio", "probe", "sha256_file"]

# Magic bytes -> FFmpeg demuxer. The demuxer is forced rather than probed, because FFmpeg
# probes content: an `#EXTM3U` file named .mp3 would otherwise open as an HLS playlist and
# follow its references.
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (0, b"ID3", "mp3"),
    (0, b"\x1a\x45\xdf\xa3", "matroska"),
    (4, b"ftyp", "mov"),
    (0, b"FORM", "aiff"),
    (0, b"caff", "caf"),
]


class RejectedAudio(ValueError):
    """A file that is not acceptable audio; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class AudioInfo:
    """What the container says, read before decoding."""

    path: Path
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    size_bytes: int

    def record(self) -> dict:
        """The container facts as JSON-ready values (the path is not one of them)."""
        return {k: v for k, v in asdict(self).items() if k != "path"}


def _sniff(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RF64" and head[8:12] == b"WAVE":
        return "wav"
    for offset, magic, demuxer in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return demuxer
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; ADTS AAC shares the sync but has layer bits 00.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


def probe(path: Path, max_duration_s: float) -> AudioInfo:
    """Read a file's container and refuse anything that is not safe, local, whole audio.

    Args:
      path: The file to inspect; it is opened read-only and not decoded beyond two probes.
      max_duration_s: Longest accepted duration, from the container's header.

    Returns:
      The container facts of an accepted file.

    Raises:
      RejectedAudio: with a one-line reason.
    """
    import av  # PyAV; imported here so reading results never pays for it

    path = Path(path)
    name = shown_name(path.name)  # any name is accepted; it is only shown, escaped
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise RejectedAudio(f"{name}: not a regular file")
        if st.st_size == 0:
            raise RejectedAudio(f"{name}: empty file")
        with path.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        raise RejectedAudio(f"{name}: no such file") from None
    except OSError as err:
        if err.errno != errno.ENAMETOOLONG:
            raise  # unreadable for now (permissions, I/O): the inbox leaves it in place and tries again
        raise RejectedAudio(f"{name}: file name too long") from None
    demuxer = _sniff(head)
    if demuxer is None:
        raise RejectedAudio(f"{name}: not a recognised audio container (wav, flac, mp3, ogg, m4a, webm, aiff)")
    if demuxer == "wav":
        _check_riff(path, st.st_size, name)
    if demuxer == "ogg":
        _check_ogg_end(path, st.st_size, name)
    try:
        container = av.open(str(path), format=demuxer, options={"protocol_whitelist": "file"})
    except (av.FFmpegError, OSError, ValueError) as err:
        raise RejectedAudio(f"{name}: unreadable {demuxer} container ({err.__class__.__name__})") from None
    with container:
        if not container.streams.audio:
            raise RejectedAudio(f"{name}: no audio stream")
        stream = container.streams.audio[0]
        duration_s = _duration(container, stream)
        if duration_s is None or duration_s <= 0:
            raise RejectedAudio(f"{name}: the container does not state a duration")
        if duration_s > max_duration_s:
            raise RejectedAudio(
                f"{name}: {duration_s:.0f} s is over the {max_duration_s:.0f} s cap (FI_MAX_AUDIO_SECONDS)"
            )
        _decode_probe(container, stream, duration_s, name)
        return AudioInfo(
            path=path,
            container=demuxer,
            codec=stream.codec_context.name,
            sample_rate=int(stream.rate or 0),
            channels=int(stream.channels or 0),
            duration_s=float(duration_s),
            size_bytes=st.st_size,
        )


def _check_riff(path: Path, size: int, name: str) -> None:
    """FFmpeg clamps a WAV's duration to the bytes present, so compare the header itself."""
    with path.open("rb") as fh:
        fh.seek(12)
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF mean "unknown length" (streamed or RF64 writers).
                if chunk_size not in (0, 0xFFFFFFFF) and fh.tell() + chunk_size > size:
                    raise RejectedAudio(
                        f"{name}: truncated: header announces {chunk_size} bytes of audio, "
                        f"{size - fh.tell()} present"
                    )
                return
            fh.seek(chunk_size + (chunk_size & 1), 1)


# An Ogg page: 27-byte header, then up to 255 lacing values of up to 255 bytes each.
_OGG_MAX_PAGE = 27 + 255 + 255 * 255
_OGG_EOS = 0x04


def _check_ogg_end(path: Path, size: int, name: str) -> None:
    """A cut Ogg file opens as a shorter whole one (FFmpeg takes the duration from the last page
    present), so the file must end with a whole page carrying the end-of-stream flag."""
    with path.open("rb") as fh:
        fh.seek(max(0, size - _OGG_MAX_PAGE))
        tail = fh.read()
    at = tail.rfind(b"OggS")
    while at >= 0:  # the last page is the one that ends exactly at the end of the file
        header = tail[at : at + 27]
        if len(header) == 27 and header[4] == 0:
            lacing = tail[at + 27 : at + 27 + header[26]]
            if len(lacing) == header[26] and at + 27 + len(lacing) + sum(lacing) == len(tail):
                if not header[5] & _OGG_EOS:
                    raise RejectedAudio(f"{name}: truncated: the Ogg stream ends without its end-of-stream page")
                return
        at = tail.rfind(b"OggS", 0, at)
    raise RejectedAudio(f"{name}: truncated: the last Ogg page is cut off")


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _decode_probe(container, stream, duration_s: float, name: str) -> None:
    """Decode one frame at the start and one near the stated end: catches truncation."""
    import av

    try:
        first = next(container.decode(stream), None)
        if first is None:
            raise RejectedAudio(f"{name}: no decodable audio")
        tail_s = max(0.0, duration_s - 2.0)
        container.seek(int(tail_s / stream.time_base), stream=stream, any_frame=False, backward=True)
        last_end = 0.0
        for frame in container.decode(stream):
            if frame.pts is not None:
                last_end = float(frame.pts * stream.time_base) + frame.samples / (frame.sample_rate or 1)
    except RejectedAudio:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as err:
        raise RejectedAudio(f"{name}: undecodable audio ({err.__class__.__name__})") from None
    # Containers round their stated duration; a file missing more than this is truncated.
    if last_end < duration_s - max(1.0, 0.02 * duration_s):
        raise RejectedAudio(f"{name}: truncated: audio ends at {last_end:.1f} s of a stated {duration_s:.1f} s")


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()

"""Pictures for the Dagster UI: PNGs inlined in Markdown; the stats dashboard's drawn with matplotlib (imported lazily)."""

from __future__ import annotations

import base64
import io

__all__ = ["figure", "png_bytes", "markdown_image", "clock_label", "md_escape"]


def figure(width_in: float, height_in: float):
    """A matplotlib Figure on the Agg canvas: no pyplot, no global state, no display."""
    # Imported here: result reading (`load_transcripts`) must not pay matplotlib's ~1 s import.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """A Markdown image with the PNG inline: the UI's metadata table shows it without any file server."""
    return f"![{md_escape(alt)}](data:image/png;base64,{base64.b64encode(png).decode()})"


def clock_label(seconds: float, _pos=None) -> str:
    """mm:ss, or h:mm:ss past an hour (a tick formatter)."""
    total = int(round(max(float(seconds), 0.0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def md_escape(text: str) -> str:
    """Backslash-escape every ASCII punctuation character: transcript text stays text in Markdown.

    The transcript is untrusted: unescaped, `![x](http://…)` in what someone said would make the
    UI fetch an image, and `<img …>` would be HTML. CommonMark renders every escaped mark literally.
    """
    return "".join(f"\\{c}" if c.isascii() and not c.isalnum() and not c.isspace() else c for c in text)

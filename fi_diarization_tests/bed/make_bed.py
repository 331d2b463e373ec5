"""Build the human-voice test bed: conversations voiced by recordings of real people.

Debian's Festival voices are built from recordings of real speakers (diphone inventories
or HTS models trained on one person each), so unlike the espeak-ng fixtures every
speaker here has a real human timbre. Each conversation is mixed sample-exactly, so the
truth is exact: a segment starts/ends at the first/last sample of the utterance's audio
(trimmed of digital silence below -50 dBFS) in the mix.

Run from the repository root (needs festival/text2wave, sox and espeak-ng):

    python fi_diarization_tests/bed/make_bed.py            # all files
    python fi_diarization_tests/bed/make_bed.py es_2spk    # just some
    python fi_diarization_tests/bed/make_bed.py --extra DIR  # the uncommitted tuning set (EXTRA)
    python fi_diarization_tests/bed/make_bed.py --heldout DIR  # a third check set, run once (HELDOUT)
    python fi_diarization_tests/bed/make_bed.py --heldout2 DIR  # a fourth check set, run once (HELDOUT2)
    python fi_diarization_tests/bed/make_bed.py --heldout3 DIR  # a fifth check set, run once (HELDOUT3)
    python fi_diarization_tests/bed/make_bed.py --heldout4 DIR  # a sixth check set, run once (HELDOUT4)
    python fi_diarization_tests/bed/make_bed.py --heldout5 DIR  # a seventh check set, run once (HELDOUT5)
    python fi_diarization_tests/bed/make_bed.py --heldout6 DIR  # an eighth check set, run once (HELDOUT6)
    python fi_diarization_tests/bed/make_bed.py --heldout7 DIR  # a ninth check set, run once (HELDOUT7)
    python fi_diarization_tests/bed/make_bed.py --heldout8 DIR  # a tenth check set, run once (HELDOUT8)
    python fi_diarization_tests/bed/make_bed.py --heldout9 DIR  # an eleventh check set, run once (HELDOUT9)
    python fi_diarization_tests/bed/make_bed.py --heldout10 DIR  # a twelfth check set, run once (HELDOUT10)
    python fi_diarization_tests/bed/make_bed.py --heldout11 DIR  # a thirteenth, run once (HELDOUT11; needs rubberband)
    python fi_diarization_tests/bed/make_bed.py --heldout12 DIR  # a fourteenth, run once (HELDOUT12; needs rubberband)
    python fi_diarization_tests/bed/make_bed.py --heldout13 DIR  # a fifteenth, run once (HELDOUT13; needs rubberband)
    python fi_diarization_tests/bed/make_bed.py --heldout14 DIR  # a sixteenth, run once (HELDOUT14)
    python fi_diarization_tests/bed/make_bed.py --heldout15 DIR  # a seventeenth, run once (HELDOUT15)
    python fi_diarization_tests/bed/make_bed.py --heldout16 DIR  # an eighteenth, run once (HELDOUT16)
    python fi_diarization_tests/bed/make_bed.py --heldout17 DIR  # a nineteenth, run once (HELDOUT17)
    python fi_diarization_tests/bed/make_bed.py --long DIR  # 3-4 minute telephone files, tuning only (LONG)

Output per file NAME in this folder: NAME.flac (16 kHz mono), NAME.truth.json (the
fixtures' truth format plus split/num_speakers/conditions/voices) and NAME.rttm.
Everything is deterministic: noise and gaps come from fixed numpy seeds.

A voice reading a language it was not built for (Italian/Catalan/Czech voices reading
English or Spanish) is given a respelling of the text in its own orthography, derived
from espeak-ng's IPA of the source language, so it speaks that language with an accent
instead of spelling it out letter by letter. The truth keeps the original text.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
HERE = Path(__file__).resolve().parent
SILENCE_DBFS = -50.0  # trim threshold for utterance edges
TARGET_RMS_DBFS = -26.0  # per-speaker level, +-3 dB random per speaker
PEAK_DBFS = -1.0


# --------------------------------------------------------------------------- voices


@dataclass(frozen=True)
class Voice:
    engine: str  # "festival" or "espeak"
    name: str  # festival voice function or espeak-ng voice
    native: str  # language of the voice's lexicon: en, it, ca, cs, es
    encoding: str = "latin-1"  # text encoding festival expects for this voice
    person: str = ""  # who the recording is of (documentation only)


VOICES = {
    "kal": Voice("festival", "voice_kal_diphone", "en", person="US English man (kal)"),
    "ked": Voice("festival", "voice_ked_diphone", "en", person="US English man (ked)"),
    "slt": Voice("festival", "voice_cmu_us_slt_arctic_hts", "en", person="US English woman (slt)"),
    "lp": Voice("festival", "voice_lp_diphone", "it", person="Italian woman (lp)"),
    "pc": Voice("festival", "voice_pc_diphone", "it", person="Italian man (pc)"),
    "ona": Voice("festival", "voice_upc_ca_ona_hts", "ca", person="Catalan woman (ona)"),
    "dita": Voice("festival", "voice_czech_dita", "cs", "iso-8859-2", person="Czech woman (dita)"),
    "machac": Voice("festival", "voice_czech_machac", "cs", "iso-8859-2", person="Czech man (machac)"),
    "ph": Voice("festival", "voice_czech_ph", "cs", "iso-8859-2", person="Czech man (ph)"),
    "es_m3": Voice("espeak", "es+m3", "es", person="espeak-ng es+m3 (formant synthesis)"),
}

ESPEAK_LANG = {"en": "en-us", "es": "es-419"}


# ------------------------------------------------------------------ respelling via IPA

_MULTI = ("tʃ", "dʒ", "eɪ", "aɪ", "ɔɪ", "oʊ", "aʊ", "əʊ")
_VOWEL_CHARS = set("aeiouyɪɛæʌʊɑɔəɐɚɜᵻɒøœɯɤ")
_SKIP = set("ʔ‿ˑ-'")
_SYLLABIC = "\u0329"


@dataclass
class _Ph:
    sym: str
    stress: int = 0
    long: bool = False
    syllabic: bool = False

    @property
    def vowel(self) -> bool:
        return self.sym[0] in _VOWEL_CHARS


def _ipa(text: str, lang: str) -> list[str]:
    """espeak-ng IPA of `text`, one string per word."""
    out = subprocess.run(
        ["espeak-ng", "-v", ESPEAK_LANG[lang], "-q", "--ipa", text],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.split()


def _phones(word: str) -> list[_Ph]:
    phones: list[_Ph] = []
    stress, i = 0, 0
    while i < len(word):
        c = word[i]
        if c == "ˈ":
            stress, i = 2, i + 1
            continue
        if c == "ˌ":
            stress, i = 1, i + 1
            continue
        if c == "ː":
            if phones:
                phones[-1].long = True
            i += 1
            continue
        if c == _SYLLABIC:
            if phones:
                phones[-1].syllabic = True
            i += 1
            continue
        if c in _SKIP or not (c.isalpha() or c in _VOWEL_CHARS):
            i += 1
            continue
        sym = next((m for m in _MULTI if word.startswith(m, i)), c)
        ph = _Ph("g" if sym == "ɡ" else sym)
        if ph.vowel:
            ph.stress, stress = stress, 0
        phones.append(ph)
        i += len(sym)
    # A syllabic consonant (button, little) gets a schwa so the target reads a syllable;
    # a doubled consonant (espeak's Spanish "ll" is "jj") is said once.
    out: list[_Ph] = []
    for ph in phones:
        if not ph.vowel and out and out[-1].sym == ph.sym:
            continue
        if ph.syllabic and not ph.vowel:
            out.append(_Ph("ə"))
        out.append(ph)
    return out


# Vowels: IPA -> (plain, stressed) per target orthography.
_V = {
    "it": {"a": "a", "ɐ": "a", "ʌ": "a", "ɑ": "a", "ɒ": "o", "e": "e", "ɛ": "e", "æ": "e", "ə": "e",
           "i": "i", "ɪ": "i", "ᵻ": "i", "y": "i", "o": "o", "ɔ": "o", "u": "u", "ʊ": "u", "ɚ": "er",
           "ɜ": "er", "eɪ": "ei", "aɪ": "ai", "ɔɪ": "oi", "oʊ": "ou", "əʊ": "ou", "aʊ": "au"},
    "ca": {"a": "a", "ɐ": "a", "ʌ": "a", "ɑ": "a", "ɒ": "o", "e": "e", "ɛ": "e", "æ": "e", "ə": "a",
           "i": "i", "ɪ": "i", "ᵻ": "i", "y": "i", "o": "o", "ɔ": "o", "u": "u", "ʊ": "u", "ɚ": "er",
           "ɜ": "er", "eɪ": "ei", "aɪ": "ai", "ɔɪ": "oi", "oʊ": "ou", "əʊ": "ou", "aʊ": "au"},
    "cs": {"a": "a", "ɐ": "a", "ʌ": "a", "ɑ": "a", "ɒ": "o", "e": "e", "ɛ": "e", "æ": "e", "ə": "e",
           "i": "i", "ɪ": "i", "ᵻ": "i", "y": "i", "o": "o", "ɔ": "o", "u": "u", "ʊ": "u", "ɚ": "er",
           "ɜ": "er", "eɪ": "ej", "aɪ": "aj", "ɔɪ": "oj", "oʊ": "ou", "əʊ": "ou", "aʊ": "au"},
}
_ACUTE = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú"}
_GRAVE = {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù"}
_CA_STRESS = {"a": "à", "e": "é", "i": "í", "o": "ó", "u": "ú"}
_CA_OPEN = {"ɛ": "è", "æ": "è", "ɔ": "ò", "ɒ": "ò"}


def _accent_first(s: str, table: dict) -> str:
    for k, ch in enumerate(s):
        if ch in table:
            return s[:k] + table[ch] + s[k + 1:]
    return s


def _spell_word(phones: list[_Ph], src: str, dst: str) -> str:
    nvow = sum(p.vowel for p in phones)
    out: list[str] = []
    for k, ph in enumerate(phones):
        prev = phones[k - 1] if k else None
        nxt = phones[k + 1] if k + 1 < len(phones) else None
        nxt_sp = ""
        if nxt is not None and nxt.vowel:
            nxt_sp = _V[dst].get(nxt.sym, "a")
        front = nxt_sp.startswith(("i", "e"))
        before_vowel = nxt is not None and nxt.vowel
        after_vowel = prev is not None and prev.vowel
        s = ph.sym
        if ph.vowel:
            v = _V[dst].get(s, "e")
            if dst == "cs":
                if ph.long and len(v) == 1:
                    v = _ACUTE[v]
                if v[0] in "ií" and out and out[-1] in ("t", "d", "n"):
                    v = ("y" if v[0] == "i" else "ý") + v[1:]
            elif dst == "ca" and ph.stress == 2 and nvow > 1:
                v = (_CA_OPEN[s] + v[1:]) if s in _CA_OPEN else _accent_first(v, _CA_STRESS)
            elif dst == "it" and ph.stress == 2 and nvow > 1 and k == len(phones) - 1:
                v = _accent_first(v, _GRAVE)  # Italian marks only a stressed final vowel
            out.append(v)
            continue
        if dst == "it":
            m = {"k": "ch" if front else "c", "g": "gh" if front else "g", "ɣ": "gh" if front else "g",
                 "tʃ": "c" if front else "ci", "dʒ": "g" if front else "gi",
                 "ʃ": "sc" if front else "sci", "ʒ": "sc" if front else "sci",
                 "x": "ch" if front else "c", "h": "", "θ": "t", "ð": "d", "β": "b", "z": "s",
                 "ŋ": "n" if nxt is not None and nxt.sym in ("k", "g") else "ng",
                 "ɹ": "r", "r": "rr" if after_vowel and before_vowel else "r",
                 "ɾ": "d" if src == "en" else "r", "j": "i", "ʝ": "i", "w": "u", "ɲ": "gn",
                 "ʎ": "gli", "ɫ": "l"}.get(s, s)
            if s in ("tʃ", "dʒ", "ʃ", "ʒ", "ʎ") and nxt_sp.startswith("i"):
                m = m[:-1] if m.endswith("i") else m
            if s == "k" and nxt is not None and nxt.sym == "w":
                m = "q"
        elif dst == "ca":
            m = {"k": "qu" if front else "c", "g": "gu" if front else "g", "ɣ": "gu" if front else "g",
                 "tʃ": "tx", "dʒ": "tg" if front else "tj", "ʒ": "g" if front else "j",
                 "ʃ": "ix" if after_vowel and not (out and out[-1].endswith("i")) else "x",
                 "x": "qu" if front else "c", "h": "", "θ": "t", "ð": "d", "β": "b",
                 "s": "ss" if after_vowel and before_vowel else "s",
                 "z": "s" if after_vowel and before_vowel else "z",
                 "ŋ": "n" if nxt is not None and nxt.sym in ("k", "g") else "ng",
                 "ɹ": "r", "r": "rr" if after_vowel and before_vowel else "r",
                 "ɾ": "d" if src == "en" else "r", "j": "i", "ʝ": "i", "w": "u", "ɲ": "ny",
                 "ʎ": "ll", "ɫ": "l"}.get(s, s)
            if s == "k" and nxt is not None and nxt.sym == "w":
                m = "q"
            if s == "w" and prev is not None and prev.sym in ("k", "g") and front:
                m = "ü"
        else:  # cs
            m = {"tʃ": "č", "dʒ": "dž", "ʃ": "š", "ʒ": "ž", "x": "ch", "θ": "t", "ð": "d", "β": "b",
                 "ɣ": "g", "ŋ": "n" if nxt is not None and nxt.sym in ("k", "g") else "ng",
                 "ɹ": "r", "ɾ": "d" if src == "en" else "r", "j": "j", "ʝ": "j", "w": "u",
                 "ɲ": "ň", "ʎ": "j", "ɫ": "l"}.get(s, s)
        if m == "i" and out and out[-1][-1:] in ("i", "ì", "í"):
            m = ""  # a glide after /i/ (Spanish "pastilla" = pastiya) is not a second i
        out.append(m)
    return "".join(out)


def respell(text: str, src: str, dst: str) -> str:
    """Spell `text` (language `src`) in the orthography of `dst` so a `dst` voice says it."""
    parts = re.split(r"([.,;:?!¿¡…]+)", text)
    out = []
    for part in parts:
        if not part.strip():
            continue
        if re.fullmatch(r"[.,;:?!¿¡…]+", part):
            punct = part.replace("¿", "").replace("¡", "")
            if punct:
                out.append(punct)
            continue
        words = [_spell_word(_phones(w), src, dst) for w in _ipa(part, src)]
        out.append(" " + " ".join(w for w in words if w))
    return "".join(out).strip()


# ------------------------------------------------------------------------- synthesis


def _to_float16k(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(RATE), "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).astype(np.float64)


def tts_text(voice: Voice, text: str, lang: str) -> str:
    if voice.native == lang or voice.engine == "espeak":
        return text
    return respell(text, lang, voice.native)


def speak(voice: Voice, text: str, tmp: Path) -> np.ndarray:
    """Synthesize `text` (already in the voice's own spelling) as float64 at 16 kHz."""
    wav = tmp / "tts.wav"
    if voice.engine == "festival":
        txt = tmp / "tts.txt"
        # The Italian voices' question intonation crashes on some phrases (SIOD ERROR,
        # empty output); such a line is said as a statement instead.
        for attempt in (text, text.replace("?", ".")):
            txt.write_bytes(attempt.encode(voice.encoding, errors="replace"))
            wav.unlink(missing_ok=True)
            run = subprocess.run(["text2wave", "-eval", f"({voice.name})", str(txt), "-o", str(wav)],
                                 capture_output=True)
            if run.returncode == 0 and b"SIOD ERROR" not in run.stderr and wav.is_file() \
                    and wav.stat().st_size > 1000:
                if attempt != text:
                    print(f"  note: {voice.name} says {text!r} as a statement", file=sys.stderr)
                break
        else:
            raise RuntimeError(f"{voice.name} could not say {text!r}: {run.stderr.decode(errors='replace')}")
    else:
        subprocess.run(["espeak-ng", "-v", voice.name, "-w", str(wav), text], check=True, capture_output=True)
    return _to_float16k(wav)


def trim(x: np.ndarray, thresh: float) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) >= thresh)
    if idx.size == 0:
        raise RuntimeError("utterance is all silence")
    return x[idx[0]: idx[-1] + 1]


# --------------------------------------------------------------------------- scripts
# A turn is (speaker, text) or (speaker, text, {"gap": seconds before it, negative = it
# starts that long before the previous turn ends}).

# Backchannels and fillers that respelling would read letter by letter: what each
# voice family is given to say instead (the truth keeps the written form).
SAY = {
    "Mm-hm.": {"en": "Mhm.", "cs": "mhm.", "it": "mm.", "ca": "mm.", "es": "mhm."},
    "Uh-huh.": {"en": "Uh huh.", "cs": "aha.", "it": "aha.", "ca": "aha.", "es": "aha."},
}

EN_MEN = [
    ("doctor", "Good morning, come in and have a seat."),
    ("patient", "Thanks. My right knee has been bothering me for about two weeks."),
    ("doctor", "Did anything happen to it, like a fall or a twist?"),
    ("patient", "Not that I remember. I started running again last month."),
    ("doctor", "How far do you usually run?"),
    ("patient", "About five miles, three or four times a week."),
    ("doctor", "Where exactly does it hurt when you run?"),
    ("patient", "Just below the kneecap, on the outside."),
    ("doctor", "Does it swell up afterwards, or feel stiff in the morning?"),
    ("patient", "It gets a little stiff, but I have not seen any swelling."),
    ("doctor", "Can you bend it all the way without pain?"),
    ("patient", "Mostly, although going down stairs is uncomfortable."),
    ("doctor", "That sounds like an overuse problem, not a torn ligament."),
    ("patient", "So I do not need an x ray?"),
    ("doctor", "Not yet. Rest it for two weeks and use ice after walking."),
    ("patient", "Can I still ride my bike?"),
    ("doctor", "Gentle cycling is fine, but stop if the pain comes back."),
    ("patient", "All right. Thank you, doctor."),
]

EN_WOMEN_TEL = [
    ("doctor", "Hello, this is the clinic returning your call about your prescription."),
    ("patient", "Oh, thank you for calling back so quickly."),
    ("doctor", "You asked for a refill of your blood pressure tablets, is that right?"),
    ("patient", "Yes, I only have three tablets left."),
    ("doctor", "Have you been checking your blood pressure at home?"),
    ("patient", "Every morning. It is usually around one hundred and thirty."),
    ("doctor", "That is good. Any dizziness or headaches lately?"),
    ("patient", "A little dizziness when I stand up too fast."),
    ("doctor", "Try to stand up slowly and drink enough water during the day."),
    ("patient", "I will. Should I keep the same dose?"),
    ("doctor", "Yes, the same dose. I will send the refill to your pharmacy today."),
    ("patient", "The pharmacy on the main street, next to the bank."),
    ("doctor", "Perfect. Please book a check up for next month as well."),
    ("patient", "I will call the front desk tomorrow. Thank you so much."),
]

EN_WOMEN_SHORT = [
    ("doctor", "Hi, I am calling about your test results."),
    ("patient", "Okay."),
    ("doctor", "Your blood count came back normal."),
    ("patient", "Good."),
    ("doctor", "But your iron level is a bit low."),
    ("patient", "Mm-hm."),
    ("doctor", "That could explain why you feel tired."),
    ("patient", "Right."),
    ("doctor", "Do you eat much red meat or green vegetables?"),
    ("patient", "Not really, no."),
    ("doctor", "I would like you to take an iron tablet."),
    ("patient", "Every day?"),
    ("doctor", "Yes, once a day with orange juice."),
    ("patient", "Okay."),
    ("doctor", "Not with tea or coffee."),
    ("patient", "Mm-hm."),
    ("doctor", "It can make your stomach a little upset."),
    ("patient", "Right."),
    ("doctor", "If that happens, take it after dinner."),
    ("patient", "Yes."),
    ("doctor", "We will repeat the test in three months."),
    ("patient", "Mm-hm."),
    ("doctor", "Do you have any questions?"),
    ("patient", "Can I still exercise?"),
    ("doctor", "Yes, but go easy for a few weeks."),
    ("patient", "Okay."),
    ("doctor", "I will send the prescription now."),
    ("patient", "Right, thank you."),
    ("doctor", "You are welcome. Bye."),
    ("patient", "Bye."),
]

EN_3SPK = [
    ("doctor", "Good afternoon. I hear your mother had a fall at home."),
    ("companion", "Yes, she slipped in the kitchen on Sunday evening."),
    ("patient", "I was trying to reach the top shelf.", {"gap": -0.9}),
    ("doctor", "Did you hit your head when you fell?"),
    ("patient", "No, I landed on my left side and my hip hurts."),
    ("companion", "She could not get up by herself, so I called an ambulance.", {"gap": -1.1}),
    ("doctor", "Can you put any weight on that leg now?"),
    ("patient", "Only a little, and only with a stick."),
    ("doctor", "We took an x ray this morning, and nothing is broken."),
    ("companion", "Oh, that is such a relief.", {"gap": -1.0}),
    ("patient", "So why does it still hurt so much?"),
    ("doctor", "There is a deep bruise on the hip, and that takes time to heal."),
    ("companion", "Should she stay in bed until it is better?", {"gap": -1.0}),
    ("doctor", "No, gentle walking every day will help her recover faster."),
    ("patient", "I am afraid of falling again."),
    ("doctor", "A physiotherapist will visit you at home next week."),
    ("companion", "We can also move the heavy things to the lower shelves.", {"gap": -0.9}),
    ("doctor", "That is a very good idea. Take paracetamol for the pain."),
    ("patient", "Thank you, doctor, I feel much better now."),
]

EN_DOMINANT = [
    ("doctor", "Good morning. I have your scan results here, so let me go through them with you."),
    ("patient", "Okay."),
    ("doctor", "The scan shows a small stone in your right kidney, about five millimeters wide."),
    ("doctor", "That is what caused the sharp pain in your side last week."),
    ("patient", "I see."),
    ("doctor", "The good news is that stones of this size usually pass on their own."),
    ("doctor", "You need to drink at least three liters of water every day to help it move."),
    ("patient", "Three liters? That is a lot of water."),
    ("doctor", "Yes. Spread it over the day, and keep a bottle with you at work."),
    ("doctor", "I will also give you a tablet that relaxes the tube between the kidney and the bladder."),
    ("patient", "Mm-hm."),
    ("doctor", "Take one every evening for four weeks, even if the pain goes away."),
    ("doctor", "For the pain you can take ibuprofen, but never on an empty stomach."),
    ("patient", "Right."),
    ("doctor", "If you get a fever, or the pain becomes unbearable, go to the emergency department."),
    ("doctor", "Those can be signs of an infection, and then the stone has to come out quickly."),
    ("patient", "Okay, I will go straight there."),
    ("doctor", "Try to catch the stone when it passes, so the laboratory can analyse it."),
    ("doctor", "Once we know what it is made of, we can change your diet to prevent new stones."),
    ("patient", "That makes sense. Should I stop drinking coffee?"),
    ("doctor", "One or two cups a day are fine, but avoid very salty food."),
    ("doctor", "We will repeat the scan in six weeks to make sure it has gone."),
    ("patient", "Thank you, doctor."),
]

EN_MONO = [
    "This is a dictation for the clinic letter of a patient seen today.",
    "The patient is a fifty two year old man who works as a bus driver.",
    "He came in with chest pain that started three days ago.",
    "The pain is in the middle of the chest and does not spread to the arms.",
    "It gets worse when he climbs stairs and settles after a few minutes of rest.",
    "He has no shortness of breath at night and no swelling of the ankles.",
    "He smoked twenty cigarettes a day for thirty years and stopped last year.",
    "His father had a heart attack at the age of sixty.",
    "He takes tablets for high blood pressure and for cholesterol.",
    "He does not drink much alcohol, perhaps two beers at the weekend.",
    "On examination he looked well and was not in pain.",
    "His blood pressure was one hundred and fifty over ninety.",
    "His pulse was regular at seventy eight beats per minute.",
    "The heart sounds were normal and the chest was clear.",
    "There was no tenderness over the chest wall.",
    "The heart tracing showed no changes at rest.",
    "Blood tests for heart muscle damage were normal.",
    "My impression is that this is stable angina until proven otherwise.",
    "I have started him on a low dose of aspirin once a day.",
    "He also has a spray to use under the tongue if the pain comes back.",
    "I explained how to use the spray and when to call an ambulance.",
    "If the pain lasts longer than fifteen minutes, he must call for help.",
    "I have asked for an exercise test at the hospital within two weeks.",
    "Depending on the result, he may need a scan of the heart arteries.",
    "We talked about his work, because he drives a bus full of passengers.",
    "He has agreed not to drive until the tests are complete.",
    "I will write a note for his employer explaining the situation.",
    "We also discussed diet and regular walking once the tests are done.",
    "He would like to lose some weight, and I will refer him to the dietitian.",
    "His blood pressure is not well controlled, so I increased his tablet.",
    "The practice nurse will check it again in one week.",
    "His wife was with him and asked many sensible questions.",
    "They both understood the plan and were happy with it.",
    "I will see him again when the exercise test result is available.",
    "Please send a copy of this letter to the cardiology department.",
    "He asked whether he can keep playing football with his friends.",
    "I advised him to avoid heavy exercise until we have the test result.",
    "His kidney function from last month was normal.",
    "His sugar level was slightly raised, so we will repeat it fasting.",
    "If that is high as well, we will talk about diabetes at the next visit.",
    "I gave him a leaflet about angina and a leaflet about stopping smoking for good.",
    "He was reminded that the spray can cause a headache, which is harmless.",
    "That is the end of the dictation. Thank you.",
]

ES_2SPK = [
    ("doctor", "Buenos días. Pase y siéntese, por favor."),
    ("patient", "Buenos días, doctora. Vengo por una tos que no se me quita."),
    ("doctor", "¿Desde cuándo tiene esa tos?"),
    ("patient", "Desde hace casi tres semanas, sobre todo por la noche."),
    ("doctor", "¿Es una tos seca o con flema?"),
    ("patient", "Al principio era seca, pero ahora tengo algo de flema."),
    ("doctor", "¿Ha tenido fiebre en estos días?"),
    ("patient", "Un poco la primera semana, pero ya no."),
    ("doctor", "¿Fuma usted o trabaja con polvo?"),
    ("patient", "Dejé de fumar hace dos años. Trabajo en una oficina."),
    ("doctor", "Voy a escuchar sus pulmones. Respire hondo, por favor."),
    ("patient", "¿Se oye algo raro?"),
    ("doctor", "Hay un pequeño silbido, pero nada grave."),
    ("doctor", "Le voy a recetar un inhalador para dos semanas."),
    ("patient", "¿Y si no mejora con el inhalador?"),
    ("doctor", "Entonces le haremos una radiografía de tórax."),
    ("patient", "Muy bien. Muchas gracias, doctora."),
]

ES_WOMEN_NOISE = [
    ("doctor", "Hola, buenas tardes. ¿En qué puedo ayudarla?"),
    ("patient", "Buenas tardes. Me duele mucho la garganta desde el lunes."),
    ("doctor", "¿Le cuesta tragar la comida o el agua?"),
    ("patient", "Sí, sobre todo por la mañana al despertarme."),
    ("doctor", "¿Ha notado fiebre o escalofríos?"),
    ("patient", "Anoche tuve treinta y ocho grados de temperatura."),
    ("doctor", "Abra la boca y diga a, por favor."),
    ("patient", "¿Está muy inflamada?"),
    ("doctor", "Las amígdalas están rojas y tienen unas manchas blancas."),
    ("patient", "¿Eso es una infección?"),
    ("doctor", "Parece una infección por bacterias. Le daré un antibiótico."),
    ("patient", "¿Cuántos días lo tengo que tomar?"),
    ("doctor", "Diez días, aunque se encuentre mejor antes."),
    ("patient", "¿Puedo ir a trabajar mañana?"),
    ("doctor", "Mejor quédese en casa dos días y beba mucho líquido."),
    ("patient", "De acuerdo. Gracias por todo."),
]

ES_3SPK = [
    ("doctor", "Buenas tardes. ¿Cómo se encuentra hoy su padre?"),
    ("companion", "Está más cansado que de costumbre y casi no come."),
    ("patient", "No tengo hambre, y me duele un poco el estómago."),
    ("doctor", "¿Desde cuándo le pasa esto?"),
    ("companion", "Desde hace una semana, más o menos."),
    ("doctor", "¿Ha vomitado o ha tenido diarrea?"),
    ("patient", "He vomitado dos veces, pero diarrea no."),
    ("doctor", "¿Está tomando algún medicamento nuevo?"),
    ("companion", "El cardiólogo le cambió la pastilla del corazón hace diez días."),
    ("doctor", "Puede que el cambio de pastilla le siente mal."),
    ("patient", "Ya me parecía a mí que era eso."),
    ("doctor", "Vamos a hacerle un análisis de sangre hoy mismo."),
    ("companion", "¿Tiene que venir en ayunas?"),
    ("doctor", "No hace falta. La enfermera le sacará sangre ahora."),
    ("patient", "¿Y mientras tanto sigo con la pastilla?"),
    ("doctor", "Sí, no la deje hasta que hablemos con el cardiólogo."),
    ("companion", "Muy bien, esperamos los resultados. Gracias, doctor."),
]

EN_4SPK = [
    ("doctor", "Good morning, everyone. Let us talk about going home."),
    ("nurse", "He walked to the end of the corridor twice this morning."),
    ("patient", "My legs are still weak, but I feel much stronger."),
    ("companion", "Will he be able to manage the stairs at home?"),
    ("doctor", "The physiotherapist will practice the stairs with him today."),
    ("nurse", "His wound is clean and the stitches can come out on Monday."),
    ("patient", "Who will take the stitches out?"),
    ("doctor", "The district nurse can do it at your house."),
    ("companion", "I can stay with him for the first two weeks."),
    ("nurse", "I will show you how to change the dressing before you leave."),
    ("patient", "Do I still need all these tablets?"),
    ("doctor", "The antibiotics stop tomorrow, but keep the blood thinner for six weeks."),
    ("companion", "Should we come back here for a check up?"),
    ("doctor", "Yes, in the surgical clinic in one month."),
    ("nurse", "I will print the appointment letter for you."),
    ("companion", "What should he eat in the first few days?"),
    ("nurse", "Light meals, plenty of fluids, and some fruit every day."),
    ("patient", "Can I have a glass of wine with dinner?"),
    ("doctor", "Not while you are on the blood thinner, I am afraid."),
    ("patient", "Thank you all for looking after me so well."),
    ("companion", "Yes, thank you very much."),
]

ES_MONO = [
    "Buenos días a todos, y gracias por venir a esta charla sobre la diabetes.",
    "La diabetes es una enfermedad en la que el azúcar de la sangre está demasiado alto.",
    "Con el tiempo, ese azúcar daña los ojos, los riñones y los nervios de los pies.",
    "La buena noticia es que podemos controlarla con hábitos sencillos.",
    "Lo primero es caminar por lo menos media hora todos los días.",
    "Lo segundo es comer más verdura y menos pan blanco y dulces.",
    "Los refrescos tienen muchísimo azúcar, así que es mejor beber agua.",
    "También es importante tomar las pastillas a la misma hora cada día.",
    "Revisen sus pies todas las noches y busquen heridas o cambios de color.",
    "Si tienen una herida que no se cura, vengan a vernos enseguida.",
    "Una vez al año hay que revisar la vista con el oftalmólogo.",
    "Y cada tres meses haremos un análisis para ver cómo va el azúcar.",
    "Muchas gracias por su atención. Ahora pueden hacer sus preguntas.",
]

EN_WOMEN_CHECK = [
    ("doctor", "Hello, you are through to the after hours doctor service."),
    ("patient", "Hi, my little boy has had a temperature since this afternoon."),
    ("doctor", "How old is he, and how high is the temperature?"),
    ("patient", "He is three, and the thermometer says thirty nine degrees."),
    ("doctor", "Is he drinking, and has he had a wet nappy today?"),
    ("patient", "He is drinking juice, and his nappy was wet an hour ago."),
    ("doctor", "Good. Does he have a rash anywhere on his body?"),
    ("patient", "No rash, but he keeps pulling at his left ear."),
    ("doctor", "That sounds like an ear infection, which is very common at his age."),
    ("patient", "Does he need antibiotics tonight?"),
    ("doctor", "Not tonight. Give him children's paracetamol and plenty to drink."),
    ("patient", "How often can I give him the paracetamol?"),
    ("doctor", "Every six hours, and no more than four doses a day."),
    ("patient", "And if he gets worse during the night?"),
    ("doctor", "If he becomes floppy or very sleepy, call an ambulance straight away."),
    ("patient", "Okay. Thank you, that really helps."),
]


# ----------------------------------------------------------------------------- beds


@dataclass
class Bed:
    name: str
    language: str
    split: str  # "tune" (calibration may use it) or "check" (held out)
    cast: dict  # speaker label -> key of VOICES
    turns: list
    seed: int
    conditions: list
    telephone: bool = False
    noise: tuple | None = None  # (colour, SNR dB)
    gaps: tuple = (0.2, 0.8)
    # Each utterance said at its own pace and pitch (`_vary`). Festival says a line the same way to the
    # sample every time: on the ninth check set, whose scripts say every line twice, ECAPA heard two
    # sayings of one line by one voice at cosine 0.87 against 0.55 for two lines (q_mono_*_phrases), and
    # clustered the repeats as voices of their own. A person never repeats a line to the sample.
    vary: bool = False
    vary_cents: float = 50.0  # how far `vary` moves each utterance's pitch, up or down (cents)
    keep_formants: bool = False  # `vary` moves the pitch alone (rubberband), not the formants with it (sox)


def _mono(lines: list[str], speaker: str) -> list:
    return [(speaker, text) for text in lines]


_SHORT_GAPS = (0.15, 0.45)  # pauses between short turns (the check sets' short-turn files)
# A person's phrases move in pitch by more than `Bed.vary`'s half semitone: "wide_pitch" files say each
# utterance up to 2.5 semitones higher or lower, against a pitch test's false alarm. sox's `pitch`
# resamples, so the formants move with it (~15 % at 2.5 semitones): more than one voice raised;
# "wide_pitch_formants_kept" files move the pitch alone (`Bed.keep_formants`).
_WIDE_CENTS = 250.0

BEDS = [
    Bed("en_men_2spk", "en", "tune", {"doctor": "kal", "patient": "ked"}, EN_MEN, 101,
        ["clean", "same_sex_male"]),
    Bed("en_women_2spk_tel", "en", "tune", {"doctor": "slt", "patient": "ona"}, EN_WOMEN_TEL, 102,
        ["telephone_300_3400Hz", "pink_noise_snr15dB", "same_sex_female", "accented"],
        telephone=True, noise=("pink", 15.0)),
    Bed("en_women_2spk_short", "en", "check", {"doctor": "slt", "patient": "dita"}, EN_WOMEN_SHORT, 103,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "same_sex_female", "short_turns", "backchannels",
         "accented"], telephone=True, noise=("white", 10.0), gaps=(0.2, 0.5)),
    Bed("en_3spk", "en", "tune", {"doctor": "kal", "patient": "slt", "companion": "pc"}, EN_3SPK, 104,
        ["clean", "overlap", "accented"]),
    Bed("en_dominant_2spk", "en", "check", {"doctor": "slt", "patient": "kal"}, EN_DOMINANT, 105,
        ["clean", "dominant_speaker"]),
    Bed("en_mono_180s", "en", "tune", {"doctor": "ked"}, _mono(EN_MONO, "doctor"), 106,
        ["clean", "monologue"], gaps=(0.3, 0.8)),
    Bed("es_2spk", "es", "tune", {"doctor": "lp", "patient": "pc"}, ES_2SPK, 107,
        ["clean", "mixed_sex", "accented"]),
    Bed("es_women_2spk_noise", "es", "check", {"doctor": "ona", "patient": "dita"}, ES_WOMEN_NOISE, 108,
        ["pink_noise_snr12dB", "same_sex_female", "accented"], noise=("pink", 12.0)),
    Bed("es_3spk", "es", "tune", {"doctor": "machac", "patient": "es_m3", "companion": "lp"}, ES_3SPK, 109,
        ["clean", "accented", "formant_voice"]),
    Bed("en_4spk", "en", "check", {"doctor": "kal", "nurse": "slt", "patient": "pc", "companion": "dita"},
        EN_4SPK, 110, ["clean", "accented"]),
    Bed("es_mono_60s", "es", "check", {"doctor": "ona"}, _mono(ES_MONO, "doctor"), 111,
        ["clean", "monologue", "accented"], gaps=(0.3, 0.8)),
    Bed("en_women_2spk_check", "en", "check", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_CHECK, 112,
        ["telephone_300_3400Hz", "white_noise_snr15dB", "same_sex_female", "accented"],
        telephone=True, noise=("white", 15.0)),
    # Held out a second time (2026-11-27): made after every constant above was set, with new
    # seeds, pairs and conditions, to check the speaker stage on files nobody tuned on.
    Bed("en_women_2spk_tel2", "en", "check", {"doctor": "lp", "patient": "dita"}, EN_WOMEN_CHECK, 201,
        ["telephone_300_3400Hz", "white_noise_snr15dB", "same_sex_female", "accented"],
        telephone=True, noise=("white", 15.0)),
    Bed("en_women_2spk_short2", "en", "check", {"doctor": "ona", "patient": "lp"}, EN_WOMEN_SHORT, 202,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "same_sex_female", "short_turns", "backchannels",
         "accented"], telephone=True, noise=("white", 10.0), gaps=(0.2, 0.5)),
    Bed("en_men_2spk_tel", "en", "check", {"doctor": "kal", "patient": "ked"}, EN_MEN, 203,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "same_sex_male"], telephone=True, noise=("pink", 12.0)),
    Bed("es_2spk_noise", "es", "check", {"doctor": "machac", "patient": "ona"}, ES_2SPK, 204,
        ["pink_noise_snr10dB", "mixed_sex", "accented"], noise=("pink", 10.0)),
    Bed("en_mono_tel", "en", "check", {"doctor": "slt"}, _mono(EN_MONO, "doctor"), 205,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], telephone=True, noise=("white", 12.0),
        gaps=(0.3, 0.8)),
    Bed("en_3spk_tel", "en", "check", {"doctor": "ked", "patient": "dita", "companion": "pc"}, EN_3SPK, 206,
        ["telephone_300_3400Hz", "pink_noise_snr15dB", "overlap", "accented"], telephone=True, noise=("pink", 15.0)),
    Bed("es_women_2spk_tel", "es", "check", {"doctor": "lp", "patient": "ona"}, ES_WOMEN_NOISE, 207,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_female", "accented"],
        telephone=True, noise=("white", 12.0)),
    Bed("es_mono_noise", "es", "check", {"doctor": "lp"}, _mono(ES_MONO, "doctor"), 208,
        ["pink_noise_snr10dB", "monologue", "accented"], noise=("pink", 10.0), gaps=(0.3, 0.8)),
    # Tune files (2026-11-27), from the uncommitted tuning set the short-window merge was designed
    # on (`speakers.clustering.merge_short_clusters`): a monologue whose short phrases made a second
    # "speaker", and a second woman heard almost only in backchannels.
    Bed("en_mono_tel_ked", "en", "tune", {"doctor": "ked"}, _mono(EN_MONO[20:], "doctor"), 302,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "monologue"], telephone=True, noise=("pink", 12.0),
        gaps=(0.3, 0.8)),
    Bed("en_women_2spk_backchannel", "en", "tune", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_SHORT, 313,
        ["telephone_300_3400Hz", "pink_noise_snr10dB", "same_sex_female", "short_turns", "backchannels",
         "accented"], telephone=True, noise=("pink", 10.0), gaps=(0.2, 0.5)),
    # Moved here from EXTRA (2026-12-04): three voices whose cut for the given count missed where
    # resemblyzer, counting alone, drew them right (`listeners._given`).
    Bed("t3_3spk_en_tel", "en", "tune", {"doctor": "slt", "patient": "kal", "companion": "dita"}, EN_3SPK, 412,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "overlap"], noise=("pink", 12.0), telephone=True),
    # Moved here from HELDOUT5 (n_mixed_slt_pc_short, the same seed and audio; 2026-12-05): a woman and
    # a man taking short turns by phone, which ECAPA's finer regions counted as three
    # (`listeners._lowest_count`).
    Bed("en_mixed_2spk_short_tel", "en", "check", {"doctor": "slt", "patient": "pc"}, EN_WOMEN_SHORT, 1006,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "short_turns", "backchannels", "mixed_sex"],
        noise=("pink", 12.0), gaps=_SHORT_GAPS, telephone=True),
    # Moved here from HELDOUT4 (m_mixed_kal_lp_short, the same seed and audio; 2026-12-05): a man and a
    # woman taking short turns by phone that both listeners hear as one unsure voice, once the pieces'
    # count recovered en_women_2spk_short2 (`listeners._PIECES_ALONE`); the LLM's count recovers it.
    Bed("en_mixed_2spk_short_tel2", "en", "check", {"doctor": "kal", "patient": "lp"}, EN_WOMEN_SHORT, 908,
        ["telephone_300_3400Hz", "pink_noise_snr10dB", "short_turns", "backchannels", "mixed_sex"],
        noise=("pink", 10.0), gaps=_SHORT_GAPS, telephone=True),
    # Moved here from HELDOUT6 (p_men_machac_ked_short, the same seed and audio; 2026-12-05): two men
    # taking short turns by phone, whom resemblyzer heard as one or two and ECAPA as three, sure
    # (`listeners._most_heard`).
    Bed("en_men_2spk_short_tel", "en", "check", {"doctor": "machac", "patient": "ked"}, EN_WOMEN_SHORT, 1105,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "short_turns", "backchannels", "same_sex_male"],
        noise=("white", 12.0), gaps=_SHORT_GAPS, telephone=True),
    # Moved here from HELDOUT5 (n_women_slt_lp_short, the same seed and audio; 2026-12-05): two women
    # taking short turns by phone whom resemblyzer, counting alone, hears as one, sure; its cut for the
    # count given missed lp until ECAPA was asked there too (`listeners._given`).
    Bed("en_women_2spk_short3", "en", "check", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_SHORT * 2, 1001,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("pink", 12.0), gaps=_SHORT_GAPS, telephone=True),
    # Moved here from HELDOUT9 (s_mixed_slt_ph_short, the same seed and audio; 2026-12-05): a woman and a
    # man taking short turns by phone whom resemblyzer hears as one voice, sure (0.98), until the
    # regions' pitches put that in doubt (`listeners.doubt_one_voice`).
    Bed("en_mixed_2spk_short_tel3", "en", "tune", {"doctor": "slt", "patient": "ph"}, EN_WOMEN_SHORT, 1404,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "short_turns", "backchannels", "mixed_sex",
         "varied_utterances"], noise=("pink", 12.0), gaps=_SHORT_GAPS, telephone=True, vary=True),
    # Moved here from HELDOUT11 (v_mono_slt_wide, the same seed and audio; 2026-12-05): one woman whose
    # sentences move up to 2.5 semitones in pitch, formants kept, heard as two voices (0.79): a known miss.
    Bed("en_mono_tel_wide", "en", "check", {"doctor": "slt"}, _mono(EN_MONO[10:28], "doctor"), 1603,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "monologue", "varied_utterances",
         "wide_pitch_formants_kept"], noise=("white", 10.0), gaps=(0.3, 0.8), telephone=True, vary=True,
        vary_cents=_WIDE_CENTS, keep_formants=True),
]


# A tuning set beside the bed (2026-12-03), never committed as audio: `make_bed.py --extra DIR` writes
# it and `benchmarks/bed.py --dir DIR` runs it. Calibration may look at it like the "tune" files; it
# adds the conditions the check files fail on (telephone band + noise, same-sex pairs, short
# turns) with other pairs and seeds, so a change is judged on 24 tuning files, not 8.
EXTRA = [
    Bed("t3_mono_slt", "en", "tune", {"doctor": "slt"}, _mono(EN_MONO[:18], "doctor"), 401,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"],
        noise=("white", 12.0), gaps=(0.3, 0.8), telephone=True),
    Bed("t3_mono_kal", "en", "tune", {"doctor": "kal"}, _mono(EN_MONO[18:36], "doctor"), 402,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "monologue"],
        noise=("pink", 12.0), gaps=(0.3, 0.8), telephone=True),
    Bed("t3_mono_ona", "es", "tune", {"doctor": "ona"}, _mono(ES_MONO, "doctor"), 403,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "monologue"],
        noise=("white", 10.0), gaps=(0.3, 0.8), telephone=True),
    Bed("t3_mono_machac", "es", "tune", {"doctor": "machac"}, _mono(ES_MONO, "doctor"), 404,
        ["telephone_300_3400Hz", "pink_noise_snr15dB", "monologue"],
        noise=("pink", 15.0), gaps=(0.3, 0.8), telephone=True),
    Bed("t3_mono_dita", "en", "tune", {"doctor": "dita"}, _mono(EN_MONO[10:28], "doctor"), 405,
        ["clean", "monologue"], gaps=(0.3, 0.8)),
    Bed("t3_men_kal_ked", "en", "tune", {"doctor": "kal", "patient": "ked"}, EN_MEN, 406,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_male"], noise=("white", 12.0), telephone=True),
    Bed("t3_women_slt_dita", "en", "tune", {"doctor": "slt", "patient": "dita"}, EN_WOMEN_TEL, 407,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "same_sex_female"], noise=("pink", 12.0), telephone=True),
    Bed("t3_women_ona_lp", "en", "tune", {"doctor": "ona", "patient": "lp"}, EN_WOMEN_CHECK, 408,
        ["telephone_300_3400Hz", "pink_noise_snr15dB", "same_sex_female"], noise=("pink", 15.0), telephone=True),
    Bed("t3_women_dita_ona_short", "en", "tune", {"doctor": "dita", "patient": "ona"}, EN_WOMEN_SHORT, 409,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("white", 10.0), gaps=(0.2, 0.5), telephone=True),
    Bed("t3_women_lp_dita_es", "es", "tune", {"doctor": "lp", "patient": "dita"}, ES_WOMEN_NOISE, 410,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_female"], noise=("white", 12.0), telephone=True),
    Bed("t3_men_kal_pc", "en", "tune", {"doctor": "kal", "patient": "pc"}, EN_MEN, 411,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "same_sex_male"], noise=("pink", 12.0), telephone=True),
    Bed("t3_3spk_es_tel", "es", "tune", {"doctor": "ona", "patient": "machac", "companion": "lp"}, ES_3SPK, 413,
        ["telephone_300_3400Hz", "white_noise_snr15dB", "overlap"], noise=("white", 15.0), telephone=True),
    Bed("t3_pc_dita_clean", "es", "tune", {"doctor": "pc", "patient": "dita"}, ES_2SPK, 414,
        ["clean", "mixed_sex", "accented"]),
    Bed("t3_men_machac_ph", "en", "tune", {"doctor": "machac", "patient": "ph"}, EN_MEN, 415,
        ["telephone_300_3400Hz", "white_noise_snr15dB", "same_sex_male"], noise=("white", 15.0), telephone=True),
    Bed("t3_women_slt_ona_bc", "en", "tune", {"doctor": "slt", "patient": "ona"}, EN_WOMEN_SHORT, 416,
        ["telephone_300_3400Hz", "pink_noise_snr10dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("pink", 10.0), gaps=(0.2, 0.5), telephone=True),
]

# Held out a third time (2026-12-04), never committed as audio: `make_bed.py --heldout DIR`. Written
# after the second listener's rules (ECAPA for unsure counts, `speakers/ecapa.py`) were fixed, once
# the check files had been seen while designing them, and run once: new seeds, pairs and scripts.
HELDOUT = [
    Bed("h_men_ked_ph_tel", "en", "check", {"doctor": "ked", "patient": "ph"}, EN_MEN, 501,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_male"], noise=("white", 12.0), telephone=True),
    Bed("h_men_pc_machac_tel", "en", "check", {"doctor": "pc", "patient": "machac"}, EN_MEN, 502,
        ["telephone_300_3400Hz", "pink_noise_snr10dB", "same_sex_male"], noise=("pink", 10.0), telephone=True),
    Bed("h_women_dita_slt_tel", "en", "check", {"doctor": "dita", "patient": "slt"}, EN_WOMEN_TEL, 503,
        ["telephone_300_3400Hz", "white_noise_snr15dB", "same_sex_female"], noise=("white", 15.0), telephone=True),
    Bed("h_women_ona_dita_es_tel", "es", "check", {"doctor": "ona", "patient": "dita"}, ES_WOMEN_NOISE, 504,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "same_sex_female"], noise=("pink", 12.0), telephone=True),
    Bed("h_women_lp_slt_short", "en", "check", {"doctor": "lp", "patient": "slt"}, EN_WOMEN_SHORT, 505,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("white", 12.0), gaps=(0.2, 0.5), telephone=True),
    Bed("h_mono_ona_tel", "en", "check", {"doctor": "ona"}, _mono(EN_MONO[5:23], "doctor"), 506,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("h_mono_ked_tel", "en", "check", {"doctor": "ked"}, _mono(EN_MONO[25:43], "doctor"), 507,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "monologue"], noise=("white", 10.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("h_mono_pc_es_tel", "es", "check", {"doctor": "pc"}, _mono(ES_MONO, "doctor"), 508,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "monologue"], noise=("pink", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("h_3spk_en_tel", "en", "check", {"doctor": "ked", "patient": "ona", "companion": "machac"}, EN_3SPK, 509,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "overlap"], noise=("pink", 12.0), telephone=True),
    Bed("h_men_kal_machac_clean", "en", "check", {"doctor": "kal", "patient": "machac"}, EN_MEN, 510,
        ["clean", "same_sex_male"]),
    Bed("h_women_slt_lp_noise", "en", "check", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_CHECK, 511,
        ["white_noise_snr12dB", "same_sex_female"], noise=("white", 12.0)),
    Bed("h_dominant_tel", "en", "check", {"doctor": "ona", "patient": "kal"}, EN_DOMINANT, 512,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "dominant_speaker", "mixed_sex"], noise=("pink", 12.0),
        telephone=True),
]

# Held out a fourth time (2026-12-04, tenth session), never committed as audio: `make_bed.py
# --heldout2 DIR`. Written after the dip test (`speakers.clustering._one_voice_pairs`) was set on the
# tuning files and a third-set file had been seen while designing it; run once. Long telephone
# monologues (where the dip test acts) and short-turn and long pairs (where it must not merge people).
HELDOUT2 = [
    Bed("g_mono_ona_tel", "en", "check", {"doctor": "ona"}, _mono(EN_MONO, "doctor"), 701,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("g_mono_machac_tel", "en", "check", {"doctor": "machac"}, _mono(EN_MONO, "doctor"), 702,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "monologue"], noise=("white", 10.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("g_mono_ph_tel", "en", "check", {"doctor": "ph"}, _mono(EN_MONO, "doctor"), 703,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "monologue"], noise=("pink", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("g_mono_slt_tel", "en", "check", {"doctor": "slt"},
        _mono([t[1] for t in EN_WOMEN_TEL + EN_DOMINANT + EN_4SPK], "doctor"), 704,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("g_mono_lp_es_tel", "es", "check", {"doctor": "lp"}, _mono(ES_MONO * 3, "doctor"), 705,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("g_women_dita_lp_short", "en", "check", {"doctor": "dita", "patient": "lp"}, EN_WOMEN_SHORT * 2, 706,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("white", 10.0), gaps=(0.2, 0.5), telephone=True),
    Bed("g_women_ona_slt_short", "en", "check", {"doctor": "ona", "patient": "slt"}, EN_WOMEN_SHORT * 2, 707,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "short_turns", "backchannels", "same_sex_female"],
        noise=("pink", 12.0), gaps=(0.2, 0.5), telephone=True),
    Bed("g_men_ked_pc_tel", "en", "check", {"doctor": "ked", "patient": "pc"}, EN_MEN * 3, 708,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_male"], noise=("white", 12.0), telephone=True),
    Bed("g_3spk_lp_kal_ona_tel", "en", "check", {"doctor": "lp", "patient": "kal", "companion": "ona"}, EN_3SPK,
        709, ["telephone_300_3400Hz", "white_noise_snr12dB", "overlap"], noise=("white", 12.0), telephone=True),
    Bed("g_women_slt_lp_tel", "en", "check", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_TEL * 3, 710,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_female"], noise=("white", 12.0), telephone=True),
    Bed("g_dominant_dita_ked_tel", "en", "check", {"doctor": "dita", "patient": "ked"}, EN_DOMINANT, 711,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "dominant_speaker", "mixed_sex"], noise=("white", 12.0),
        telephone=True),
]


def _short_pairs(rows: tuple, *conditions: str) -> list[tuple]:
    """`_telephone_set` rows of two people taking short turns (`EN_WOMEN_SHORT`), named by who they are.

    Each row: ``mixed_sex``, ``same_sex_male`` or ``same_sex_female``, the doctor's voice, the patient's,
    seed, noise colour, SNR; named ``{mixed,men,women}_DOCTOR_PATIENT_short``, `conditions` added to each.
    """
    kinds = {"mixed_sex": "mixed", "same_sex_male": "men", "same_sex_female": "women"}
    return [(f"{kinds[sex]}_{doctor}_{patient}_short", "en", {"doctor": doctor, "patient": patient}, EN_WOMEN_SHORT,
             seed, colour, snr, ["short_turns", "backchannels", sex, *conditions])
            for sex, doctor, patient, seed, colour, snr in rows]


def _telephone_set(prefix: str, gaps: tuple[float, float], rows: tuple, vary: bool = False) -> list[Bed]:
    """A check set of telephone-band, noisy conversations; short-turn files take `_SHORT_GAPS`, the rest `gaps`.

    Each row: name, language, cast, script, seed, noise colour, SNR (dB), conditions.
    """
    return [
        Bed(f"{prefix}_{name}", language, "check", cast, script, seed,
            ["telephone_300_3400Hz", f"{colour}_noise_snr{snr:g}dB", *conditions, *(["varied_utterances"] * vary)],
            noise=(colour, snr),
            gaps=_SHORT_GAPS if "short_turns" in conditions else gaps, telephone=True, vary=vary,
            vary_cents=_WIDE_CENTS if {"wide_pitch", "wide_pitch_formants_kept"} & {*conditions} else 50.0,
            keep_formants="wide_pitch_formants_kept" in conditions)
        for name, language, cast, script, seed, colour, snr, conditions in rows
    ]


# A fifth check set (2026-12-04, eleventh session), made before ECAPA's listen on finer regions
# (`speakers/listeners.py` `_FINE_VAD`) was run on any check file: `make_bed.py --heldout3 DIR`, run
# once. Short turns (the rule's aim) and one-voice files with short pauses (its risk: a monologue cut
# into phrases must stay one voice); new seeds and pairings.
HELDOUT3 = _telephone_set("k", _SHORT_GAPS, (
    ("women_slt_lp_short", "en", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_SHORT * 2, 801, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_ona_dita_short", "en", {"doctor": "ona", "patient": "dita"}, EN_WOMEN_SHORT * 2, 802, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_lp_ona_short", "en", {"doctor": "lp", "patient": "ona"}, EN_WOMEN_SHORT, 803, "white", 15.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("men_kal_machac_short", "en", {"doctor": "kal", "patient": "machac"}, EN_WOMEN_SHORT * 2, 804, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("mixed_ked_dita_short", "en", {"doctor": "ked", "patient": "dita"}, EN_WOMEN_SHORT * 2, 805, "pink", 12.0,
     ["short_turns", "backchannels", "mixed_sex"]),
    ("women_dita_lp_es_short", "es", {"doctor": "dita", "patient": "lp"}, ES_WOMEN_NOISE, 806, "white", 12.0,
     ["short_turns", "same_sex_female"]),
    *((f"mono_{voice}_phrases", language, {"doctor": voice.removesuffix("_es")},
       _mono([t[1] for t in lines * 2], "doctor"), seed, colour, snr, ["monologue"])
      for voice, language, lines, seed, colour, snr in (
          ("slt", "en", EN_WOMEN_SHORT, 807, "white", 12.0),
          ("dita", "en", EN_WOMEN_SHORT, 808, "pink", 10.0),
          ("ked", "en", EN_WOMEN_SHORT, 809, "white", 10.0),
          ("ona_es", "es", ES_WOMEN_NOISE, 810, "white", 12.0),
          ("lp", "en", EN_WOMEN_SHORT, 811, "pink", 12.0),
      )),
))

# A sixth check set (2026-12-04, fifteenth session), made before ECAPA's cut of finer pieces for a
# given count (`speakers/listeners.py` `_given_on_pieces`) was run on it: `make_bed.py --heldout4 DIR`,
# run once. Short turns, the rule's aim, and same-sex telephone pairs, its risk; new seeds and pairings.
HELDOUT4 = _telephone_set("m", (0.2, 0.8), (
    ("women_dita_slt_short", "en", {"doctor": "dita", "patient": "slt"}, EN_WOMEN_SHORT * 2, 901, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_lp_slt_short", "en", {"doctor": "lp", "patient": "slt"}, EN_WOMEN_SHORT, 902, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_ona_lp_short", "en", {"doctor": "ona", "patient": "lp"}, EN_WOMEN_SHORT * 2, 903, "white", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("men_ked_machac_short", "en", {"doctor": "ked", "patient": "machac"}, EN_WOMEN_SHORT, 904, "pink", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("men_pc_ph_short", "en", {"doctor": "pc", "patient": "ph"}, EN_WOMEN_SHORT * 2, 905, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("women_ona_dita_es_short", "es", {"doctor": "ona", "patient": "dita"}, ES_WOMEN_NOISE, 906, "pink", 12.0,
     ["short_turns", "same_sex_female"]),
    ("women_slt_ona_short", "en", {"doctor": "slt", "patient": "ona"}, EN_WOMEN_SHORT * 2, 907, "white", 15.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("mixed_kal_lp_short", "en", {"doctor": "kal", "patient": "lp"}, EN_WOMEN_SHORT, 908, "pink", 10.0,
     ["short_turns", "backchannels", "mixed_sex"]),
    ("men_kal_ph_tel", "en", {"doctor": "kal", "patient": "ph"}, EN_MEN, 909, "white", 12.0, ["same_sex_male"]),
    ("women_lp_dita_tel", "en", {"doctor": "lp", "patient": "dita"}, EN_WOMEN_TEL, 910, "pink", 12.0,
     ["same_sex_female"]),
))

# A seventh check set (2026-12-05, sixteenth session), made before ECAPA's count on finer pieces for
# a single unsure voice (`speakers/listeners.py`) was run on it: `make_bed.py --heldout5 DIR`, run once.
# Its aim, short-turn pairs the stage may hear as one voice, and its risk, noisy telephone
# monologues it may split; new seeds and pairings.
HELDOUT5 = _telephone_set("n", (0.3, 0.8), (
    ("women_slt_lp_short", "en", {"doctor": "slt", "patient": "lp"}, EN_WOMEN_SHORT * 2, 1001, "pink", 12.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_dita_ona_short", "en", {"doctor": "dita", "patient": "ona"}, EN_WOMEN_SHORT * 2, 1002, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_lp_ona_short", "en", {"doctor": "lp", "patient": "ona"}, EN_WOMEN_SHORT, 1003, "white", 15.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("men_machac_kal_short", "en", {"doctor": "machac", "patient": "kal"}, EN_WOMEN_SHORT * 2, 1004, "pink", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    *_short_pairs((
        ("same_sex_male", "ph", "ked", 1005, "white", 10.0), ("mixed_sex", "slt", "pc", 1006, "pink", 12.0),
    )),
    ("mono_kal_tel", "en", {"doctor": "kal"}, _mono(EN_MONO[3:21], "doctor"), 1007, "white", 12.0, ["monologue"]),
    ("mono_lp_tel", "en", {"doctor": "lp"}, _mono(EN_MONO[10:28], "doctor"), 1008, "pink", 10.0, ["monologue"]),
    ("mono_dita_es_tel", "es", {"doctor": "dita"}, _mono(ES_MONO * 2, "doctor"), 1009, "white", 12.0,
     ["monologue"]),
    ("mono_ked_tel", "en", {"doctor": "ked"}, _mono(EN_MONO[12:30], "doctor"), 1010, "pink", 12.0, ["monologue"]),
    ("mono_pc_tel", "en", {"doctor": "pc"}, _mono(EN_MONO[20:38], "doctor"), 1011, "white", 10.0, ["monologue"]),
    ("mono_slt_tel", "en", {"doctor": "slt"}, _mono(EN_MONO[:18], "doctor"), 1012, "pink", 12.0, ["monologue"]),
))

# An eighth check set (2026-12-05, sixteenth session), made after the seventh had been used to find
# why short-turn pairs were over-counted and before ECAPA's count from three layouts
# (`speakers/listeners.py` `_lowest_count`) ran on it: `make_bed.py --heldout6 DIR`, run once. Its aim,
# short-turn pairs, and its risk, three and four voices heard as fewer; new seeds and pairings.
HELDOUT6 = _telephone_set("p", (0.2, 0.8), (
    ("women_ona_slt_short", "en", {"doctor": "ona", "patient": "slt"}, EN_WOMEN_SHORT, 1101, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_lp_dita_short", "en", {"doctor": "lp", "patient": "dita"}, EN_WOMEN_SHORT * 2, 1102, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_slt_dita_short", "en", {"doctor": "slt", "patient": "dita"}, EN_WOMEN_SHORT, 1103, "white", 15.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("men_kal_pc_short", "en", {"doctor": "kal", "patient": "pc"}, EN_WOMEN_SHORT * 2, 1104, "pink", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("men_machac_ked_short", "en", {"doctor": "machac", "patient": "ked"}, EN_WOMEN_SHORT, 1105, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("women_dita_lp_es_short", "es", {"doctor": "dita", "patient": "lp"}, ES_WOMEN_NOISE, 1106, "pink", 12.0,
     ["short_turns", "same_sex_female"]),
    ("3spk_slt_ph_lp_tel", "en", {"doctor": "slt", "patient": "ph", "companion": "lp"}, EN_3SPK, 1107, "white",
     12.0, []),
    ("3spk_kal_dita_ked_tel", "en", {"doctor": "kal", "patient": "dita", "companion": "ked"}, EN_3SPK, 1108,
     "pink", 12.0, []),
    ("3spk_ona_pc_dita_es_tel", "es", {"doctor": "ona", "patient": "pc", "companion": "dita"}, ES_3SPK, 1109,
     "white", 15.0, []),
    ("4spk_ked_ona_machac_slt_tel", "en", {"doctor": "ked", "nurse": "ona", "patient": "machac",
                                          "companion": "slt"}, EN_4SPK, 1110, "pink", 15.0, []),
    ("men_pc_kal_tel", "en", {"doctor": "pc", "patient": "kal"}, EN_MEN, 1111, "white", 12.0, ["same_sex_male"]),
    ("women_ona_lp_tel", "en", {"doctor": "ona", "patient": "lp"}, EN_WOMEN_TEL, 1112, "pink", 12.0,
     ["same_sex_female"]),
))

def _phrase_monologues(rows: tuple, times: int = 2, wide: bool = False) -> list[tuple]:
    """`_telephone_set` rows of one voice saying the short-turn script's lines `times` over (voice, seed, colour, SNR).

    `wide`: each line's pitch moved up to 2.5 semitones, formants kept (named ``..._phrases_wide``).
    """
    lines = _mono([t[1] for t in EN_WOMEN_SHORT * times], "doctor")
    suffix, moved = ("_wide", ["wide_pitch_formants_kept"]) if wide else ("", [])
    return [(f"mono_{voice}_phrases{suffix}", "en", {"doctor": voice}, lines, seed, colour, snr, ["monologue", *moved])
            for voice, seed, colour, snr in rows]


# A ninth check set (2026-12-05, eighteenth session): `make_bed.py --heldout7 DIR`, made before any code
# ran on it, to check a pieces' count for a voice ECAPA's other layouts hear alone (`speakers/listeners.py`
# `_lowest_count`; on branch wip-pieces-alone, not merged). Its risk, noisy telephone monologues (long
# sentences and short phrases) split apart, and its aim, short-turn pairs heard as one voice; new seeds
# and pairings. The code of fc5a916 counted 7 of its 12 right: phrase monologues came out as 3-7 voices.
HELDOUT7 = _telephone_set("q", (0.3, 0.8), (
    ("women_ona_slt_short", "en", {"doctor": "ona", "patient": "slt"}, EN_WOMEN_SHORT * 2, 1201, "white", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_dita_lp_short", "en", {"doctor": "dita", "patient": "lp"}, EN_WOMEN_SHORT * 2, 1202, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("mixed_pc_ona_short", "en", {"doctor": "pc", "patient": "ona"}, EN_WOMEN_SHORT, 1203, "white", 12.0,
     ["short_turns", "backchannels", "mixed_sex"]),
    ("men_ked_kal_short", "en", {"doctor": "ked", "patient": "kal"}, EN_WOMEN_SHORT * 2, 1204, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("mono_machac_tel", "en", {"doctor": "machac"}, _mono(EN_MONO[5:23], "doctor"), 1205, "pink", 12.0,
     ["monologue"]),
    ("mono_ph_tel", "en", {"doctor": "ph"}, _mono(EN_MONO[15:33], "doctor"), 1206, "white", 10.0, ["monologue"]),
    ("mono_ona_tel", "en", {"doctor": "ona"}, _mono(EN_MONO[8:26], "doctor"), 1207, "pink", 10.0, ["monologue"]),
    ("mono_ked_tel", "en", {"doctor": "ked"}, _mono(EN_MONO[:18], "doctor"), 1208, "white", 12.0, ["monologue"]),
    *_phrase_monologues((
        ("kal", 1209, "pink", 12.0),
        ("slt", 1210, "white", 10.0),
        ("pc", 1211, "pink", 10.0),
        ("dita", 1212, "white", 12.0),
    )),
))

# A tenth check set (2026-12-05, nineteenth session): `make_bed.py --heldout8 DIR`, made before any code
# ran on it. The ninth set's design (scripts said twice; phrase monologues with pauses of 0.3-0.8 s) with
# each utterance varied (`Bed.vary`), new seeds and pairings: whether its over-counted phrase monologues
# were the repeated sayings, and the pieces' count (`listeners._PIECES_ALONE`) on files it never saw.
HELDOUT8 = _telephone_set("r", (0.3, 0.8), (
    ("women_slt_dita_short", "en", {"doctor": "slt", "patient": "dita"}, EN_WOMEN_SHORT * 2, 1301, "pink", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("women_lp_ona_short", "en", {"doctor": "lp", "patient": "ona"}, EN_WOMEN_SHORT * 2, 1302, "white", 10.0,
     ["short_turns", "backchannels", "same_sex_female"]),
    ("mixed_kal_dita_short", "en", {"doctor": "kal", "patient": "dita"}, EN_WOMEN_SHORT, 1303, "pink", 12.0,
     ["short_turns", "backchannels", "mixed_sex"]),
    ("men_machac_ked_short", "en", {"doctor": "machac", "patient": "ked"}, EN_WOMEN_SHORT * 2, 1304, "white", 10.0,
     ["short_turns", "backchannels", "same_sex_male"]),
    ("mono_kal_tel", "en", {"doctor": "kal"}, _mono(EN_MONO[3:21], "doctor"), 1305, "white", 12.0, ["monologue"]),
    ("mono_slt_tel", "en", {"doctor": "slt"}, _mono(EN_MONO[10:28], "doctor"), 1306, "pink", 10.0, ["monologue"]),
    ("mono_lp_tel", "en", {"doctor": "lp"}, _mono(EN_MONO[12:30], "doctor"), 1307, "white", 10.0, ["monologue"]),
    ("mono_pc_tel", "en", {"doctor": "pc"}, _mono(EN_MONO[:18], "doctor"), 1308, "pink", 12.0, ["monologue"]),
    *_phrase_monologues((
        ("ked", 1309, "pink", 12.0),
        ("ona", 1310, "white", 10.0),
        ("pc", 1311, "white", 12.0),
        ("lp", 1312, "pink", 10.0),
        ("dita", 1313, "pink", 10.0),
        ("slt", 1314, "white", 12.0),
    )),
), vary=True)

# An eleventh check set (2026-12-05, twentieth session): `make_bed.py --heldout9 DIR`, made before any code
# ran on it: the first clean check of ECAPA's count within resemblyzer's two (`listeners._most_heard`)
# and of ECAPA asked with the count given (`listeners._given`), both designed after the tenth set ran.
# Every utterance varied, no script said twice (phrase monologues say each line once), new seeds and
# pairings; its risks, a fourth voice merged away and three voices heard as two. The code of 58b40ba
# counted 11 of its 15 right (10 with those two rules off); a woman and a man heard as one voice, sure,
# led to the pitch test and moved into the bed (en_mixed_2spk_short_tel3).
HELDOUT9 = _telephone_set("s", (0.3, 0.8), (
    *_short_pairs((
        ("same_sex_female", "ona", "dita", 1401, "white", 12.0),
        ("same_sex_female", "lp", "slt", 1402, "pink", 10.0),
        ("mixed_sex", "ked", "ona", 1403, "white", 10.0), ("mixed_sex", "slt", "ph", 1404, "pink", 12.0),
        ("same_sex_male", "kal", "machac", 1405, "pink", 12.0),
        ("same_sex_male", "ph", "ked", 1406, "white", 10.0),
    )),
    ("men_ked_ph_tel", "en", {"doctor": "ked", "patient": "ph"}, EN_MEN, 1407, "pink", 12.0, ["same_sex_male"]),
    ("women_dita_ona_tel", "en", {"doctor": "dita", "patient": "ona"}, EN_WOMEN_CHECK, 1408, "white", 12.0,
     ["same_sex_female"]),
    ("women_ona_lp_es_tel", "es", {"doctor": "ona", "patient": "lp"}, ES_WOMEN_NOISE, 1409, "pink", 10.0,
     ["same_sex_female"]),
    ("3spk_kal_ona_machac_tel", "en", {"doctor": "kal", "patient": "ona", "companion": "machac"}, EN_3SPK, 1410,
     "white", 12.0, []),
    ("3spk_lp_ph_dita_es_tel", "es", {"doctor": "lp", "patient": "ph", "companion": "dita"}, ES_3SPK, 1411,
     "pink", 12.0, []),
    ("4spk_slt_kal_ona_pc_tel", "en", {"doctor": "slt", "nurse": "kal", "patient": "ona", "companion": "pc"},
     EN_4SPK, 1412, "white", 15.0, []),
    ("mono_ph_tel", "en", {"doctor": "ph"}, _mono(EN_MONO[20:38], "doctor"), 1413, "pink", 12.0, ["monologue"]),
    *_phrase_monologues((
        ("kal", 1414, "white", 12.0),
        ("ona", 1415, "pink", 10.0),
    ), times=1),
), vary=True)

# A twelfth check set (2026-12-05, twentieth session): `make_bed.py --heldout10 DIR`, made before any code
# ran on it, to check the pitch test (`speakers/listeners.py` `doubt_one_voice`), designed on every set
# before it. Its aim, men and women taking short turns (one pair close in pitch: ph and ona); its
# risk, monologues whose phrases move in pitch (three of them by up to 2.5 semitones, "wide_pitch"). The
# code of be3174e counted 8 of its 15 right, with the pitch test 9; sox's `pitch` moves the formants
# with the pitch, so the wide files are more than one voice raised (benchmarks/RESULTS.md).
HELDOUT10 = _telephone_set("u", (0.3, 0.8), (
    *_short_pairs((
        ("mixed_sex", "pc", "slt", 1501, "white", 12.0), ("mixed_sex", "ona", "kal", 1502, "pink", 10.0),
        ("mixed_sex", "machac", "lp", 1503, "pink", 12.0), ("mixed_sex", "dita", "ked", 1504, "white", 10.0),
        ("mixed_sex", "ph", "ona", 1505, "white", 12.0),
        ("same_sex_female", "slt", "ona", 1506, "pink", 12.0),
        ("same_sex_male", "pc", "ked", 1507, "white", 12.0),
    )),
    ("3spk_pc_dita_ked_tel", "en", {"doctor": "pc", "patient": "dita", "companion": "ked"}, EN_3SPK, 1508,
     "pink", 12.0, []),
    ("mono_slt_tel", "en", {"doctor": "slt"}, _mono(EN_MONO[25:43], "doctor"), 1509, "white", 12.0, ["monologue"]),
    ("mono_machac_tel", "en", {"doctor": "machac"}, _mono(EN_MONO[2:20], "doctor"), 1510, "pink", 10.0,
     ["monologue"]),
    ("mono_kal_wide", "en", {"doctor": "kal"}, _mono(EN_MONO[6:24], "doctor"), 1511, "white", 12.0,
     ["monologue", "wide_pitch"]),
    ("mono_ona_wide", "en", {"doctor": "ona"}, _mono(EN_MONO[14:32], "doctor"), 1512, "pink", 12.0,
     ["monologue", "wide_pitch"]),
    ("mono_lp_es_wide", "es", {"doctor": "lp"}, _mono(ES_MONO, "doctor"), 1513, "white", 10.0,
     ["monologue", "wide_pitch"]),
    *_phrase_monologues((
        ("dita", 1514, "pink", 12.0),
        ("pc", 1515, "white", 10.0),
    ), times=1),
), vary=True)

def _wide_monologues(rows: tuple) -> list[tuple]:
    """`_telephone_set` rows of one voice whose utterances move up to 2.5 semitones, formants kept.

    Each row: voice, language, first line of `EN_MONO` (18 lines; Spanish says all of `ES_MONO`), seed,
    noise colour, SNR. Named ``mono_VOICE_wide`` (``mono_VOICE_es_wide`` in Spanish).
    """
    return [(f"mono_{voice}{'_es' if lang == 'es' else ''}_wide", lang, {"doctor": voice},
             _mono(EN_MONO[start:start + 18] if lang == "en" else ES_MONO, "doctor"), seed, colour, snr,
             ["monologue", "wide_pitch_formants_kept"])
            for voice, lang, start, seed, colour, snr in rows]


# A thirteenth check set (2026-12-05, twentieth session): `make_bed.py --heldout11 DIR`, made before any
# code ran on it. The twelfth set's "wide_pitch" monologues moved the formants with the pitch (sox); here
# each utterance's pitch moves up to 2.5 semitones with the formants kept (rubberband,
# "wide_pitch_formants_kept"), as one person's phrases do: the pitch test's false-alarm risk
# (`listeners.doubt_one_voice`) on monologues of nine voices, and whether it still hears men and women
# taking short turns apart. The code of c8929b3 raised no false alarm, but split 8 of the 11 monologues
# in two (4 sure): the encoders hear a voice's pitch moving as another person (benchmarks/RESULTS.md).
HELDOUT11 = _telephone_set("v", (0.3, 0.8), (
    *_wide_monologues((
        ("kal", "en", 0, 1601, "white", 12.0), ("ked", "en", 5, 1602, "pink", 12.0),
        ("slt", "en", 10, 1603, "white", 10.0), ("ona", "en", 15, 1604, "pink", 10.0),
        ("lp", "en", 20, 1605, "white", 12.0), ("pc", "en", 25, 1606, "pink", 12.0),
        ("dita", "en", 3, 1607, "white", 12.0), ("machac", "en", 8, 1608, "pink", 10.0),
        ("ph", "en", 13, 1609, "white", 10.0),
    )),
    *_phrase_monologues((("ked", 1610, "pink", 12.0), ("slt", 1611, "white", 12.0)), times=1, wide=True),
    *_short_pairs((
        ("mixed_sex", "kal", "ona", 1612, "pink", 12.0), ("mixed_sex", "slt", "ph", 1613, "white", 12.0),
        ("mixed_sex", "dita", "pc", 1614, "pink", 10.0),
    ), "wide_pitch_formants_kept"),
), vary=True)

# A fourteenth check set (2026-12-05, twenty-first session): `make_bed.py --heldout12 DIR`, made before any
# code ran on it, to check whatever stops one voice whose phrases move in pitch being heard as two (the
# thirteenth set's failure, on which such a rule would be designed). Every utterance moves up to 2.5
# semitones with the formants kept. Its aim, monologues of seven voices in both languages and two phrase
# monologues; its risk, people taking short turns, same-sex pairs most of all (a pitch-aware merge must
# not join two people), a Spanish pair and three voices. No such rule was built (no pitch measure told a
# split monologue from two women); it checked each voice's pitch in the resegmentation instead, which
# did not hold up there (benchmarks/RESULTS.md, "Each voice's pitch in the resegmentation").
HELDOUT12 = _telephone_set("w", (0.3, 0.8), (
    *_wide_monologues((
        ("ph", "en", 20, 1701, "pink", 12.0), ("dita", "en", 25, 1702, "white", 10.0),
        ("lp", "es", 0, 1703, "pink", 12.0), ("machac", "en", 12, 1704, "white", 12.0),
        ("pc", "en", 18, 1705, "pink", 10.0), ("ona", "es", 0, 1706, "white", 12.0),
        ("kal", "en", 22, 1707, "pink", 12.0),
    )),
    *_phrase_monologues((("ona", 1708, "white", 12.0), ("machac", 1709, "pink", 12.0)), times=1, wide=True),
    *_short_pairs((
        ("same_sex_male", "kal", "ked", 1710, "white", 12.0),
        ("same_sex_female", "slt", "ona", 1711, "pink", 12.0),
        ("same_sex_female", "dita", "lp", 1712, "white", 10.0),
        ("same_sex_male", "machac", "pc", 1713, "pink", 12.0),
    ), "wide_pitch_formants_kept"),
    # Two men, misnamed "mixed" when the set was made; the name stays (benchmarks/RESULTS.md cites it).
    ("mixed_ph_kal_short", "en", {"doctor": "ph", "patient": "kal"}, EN_WOMEN_SHORT, 1714, "white", 12.0,
     ["short_turns", "backchannels", "same_sex_male", "wide_pitch_formants_kept"]),
    ("women_lp_ona_es_tel", "es", {"doctor": "lp", "patient": "ona"}, ES_WOMEN_NOISE, 1715, "pink", 12.0,
     ["same_sex_female", "wide_pitch_formants_kept"]),
    ("3spk_slt_ked_dita_tel", "en", {"doctor": "slt", "patient": "ked", "companion": "dita"}, EN_3SPK, 1716,
     "white", 12.0, ["wide_pitch_formants_kept"]),
), vary=True)

# A fifteenth check set (2026-12-05, twenty-second session): `make_bed.py --heldout13 DIR`, made before any
# code ran on it, to check each voice's pitch in the resegmentation used only where the voices' pitches lie
# at least half an octave apart (a man and a woman). Its aim, men and women taking short turns in new
# pairings, two with phrases that move in pitch, one in Spanish, one with long turns; its risk, same-sex
# pairs, three and four voices (the gate must stay shut when two voices are close) and a monologue.
# Adopted only if, here, the mean DER with the count given and estimated both do not rise, fewer files
# get worse than better (by > 0.5 point), and no file gets worse by more than 2 points. The gate first
# written (the runs' voices' median pitches 6 semitones apart) was dropped on the tuning files before this
# set ran: the runs handed over mix both voices where pitch helps (en_mixed_2spk_short_tel2's 0.8 apart).
# The gate checked here: two voices, and the file's voiced regions (each its median steady pitch) in
# two groups (2-means from the quartiles) 6 semitones apart or more, the smaller a tenth or more. With
# the count given it opened on seven men and women only, but the mean DER given rose 4.75 -> 5.71 % (x_mixed_kal_dita_short
# 32.9 -> 51.3 %: the count given split the man, the woman inside one half): not adopted
# (benchmarks/RESULTS.md, "Pitch in the resegmentation where the file falls into two pitches").
HELDOUT13 = _telephone_set("x", (0.3, 0.8), (
    *_short_pairs((
        ("mixed_sex", "ked", "slt", 1801, "white", 12.0), ("mixed_sex", "dita", "machac", 1802, "pink", 12.0),
        ("mixed_sex", "lp", "pc", 1803, "white", 10.0), ("mixed_sex", "ona", "machac", 1804, "pink", 10.0),
        ("mixed_sex", "kal", "dita", 1805, "white", 12.0), ("mixed_sex", "ph", "lp", 1806, "pink", 12.0),
    )),
    *_short_pairs((
        ("mixed_sex", "slt", "kal", 1807, "white", 12.0), ("mixed_sex", "ona", "ph", 1808, "pink", 10.0),
    ), "wide_pitch_formants_kept"),
    ("mixed_pc_ona_es_tel", "es", {"doctor": "pc", "patient": "ona"}, ES_WOMEN_NOISE, 1809, "white", 12.0,
     ["mixed_sex"]),
    ("mixed_machac_slt_tel", "en", {"doctor": "machac", "patient": "slt"}, EN_MEN, 1810, "pink", 12.0,
     ["mixed_sex"]),
    *_short_pairs((
        ("same_sex_female", "ona", "slt", 1811, "white", 12.0),
        ("same_sex_male", "ked", "machac", 1812, "pink", 12.0),
    )),
    ("women_lp_dita_es_tel", "es", {"doctor": "lp", "patient": "dita"}, ES_WOMEN_NOISE, 1813, "white", 10.0,
     ["same_sex_female"]),
    ("3spk_slt_pc_kal_tel", "en", {"doctor": "slt", "patient": "pc", "companion": "kal"}, EN_3SPK, 1814,
     "pink", 12.0, []),
    ("4spk_ona_ked_dita_machac_tel", "en", {"doctor": "ona", "nurse": "ked", "patient": "dita",
                                            "companion": "machac"}, EN_4SPK, 1815, "white", 12.0, []),
    ("mono_lp_tel", "en", {"doctor": "lp"}, _mono(EN_MONO[10:28], "doctor"), 1816, "pink", 12.0, ["monologue"]),
), vary=True)

# A sixteenth check set (2026-12-05, twenty-second session): `make_bed.py --heldout14 DIR`, made before any
# code ran on it, to check a pitch seed for two voices (`speakers/resegment.py`): where the file's regions
# fall into two pitch groups half an octave apart but both voices handed over sit in one group, the
# turns are redrawn from the groups too, and kept if the MFCC models then explain the speech better.
# Designed on the bed, --extra and the eleventh to fifteenth sets (x_mixed_kal_dita_short among them).
# Its aim, men and women taking short turns, men pairs with a voice tracked an octave off (machac, pc);
# its risk, pairs already right, women pairs (octave errors in a few regions), a Spanish pair, long
# turns, three voices.
# Adopted only if, here, the mean DER with the count given and estimated both do not rise, fewer files
# get worse than better (by > 0.5 point), and no file gets worse by more than 2 points. The seed fired on
# two files and its guard kept neither (one gain of 50.0 -> 8.0 % stopped with a loss of 1.3 -> 22.2 %):
# nothing changed, not adopted (benchmarks/RESULTS.md, "A pitch seed for two voices").
HELDOUT14 = _telephone_set("y", (0.3, 0.8), (
    *_short_pairs((
        ("mixed_sex", "kal", "slt", 1901, "pink", 12.0), ("mixed_sex", "ked", "dita", 1902, "white", 12.0),
        ("mixed_sex", "pc", "lp", 1903, "pink", 10.0), ("mixed_sex", "ph", "slt", 1904, "white", 10.0),
        ("mixed_sex", "machac", "ona", 1905, "pink", 12.0), ("mixed_sex", "kal", "lp", 1906, "white", 12.0),
        ("same_sex_male", "machac", "kal", 1907, "white", 12.0),
        ("same_sex_male", "pc", "machac", 1908, "pink", 12.0),
        ("same_sex_male", "pc", "kal", 1909, "white", 10.0),
    )),
    ("men_ph_machac_tel", "en", {"doctor": "ph", "patient": "machac"}, EN_MEN, 1910, "pink", 12.0,
     ["same_sex_male"]),
    *_short_pairs((
        ("same_sex_female", "lp", "ona", 1911, "pink", 12.0),
        ("same_sex_female", "dita", "slt", 1912, "white", 12.0),
    )),
    ("mixed_dita_pc_es_tel", "es", {"doctor": "dita", "patient": "pc"}, ES_WOMEN_NOISE, 1913, "white", 12.0,
     ["mixed_sex"]),
    ("mixed_lp_ked_tel", "en", {"doctor": "lp", "patient": "ked"}, EN_MEN, 1914, "pink", 10.0, ["mixed_sex"]),
    ("3spk_ona_pc_slt_tel", "en", {"doctor": "ona", "patient": "pc", "companion": "slt"}, EN_3SPK, 1915,
     "white", 12.0, []),
    ("mono_machac_tel", "en", {"doctor": "machac"}, _mono(EN_MONO[4:22], "doctor"), 1916, "pink", 12.0,
     ["monologue"]),
), vary=True)

# A seventeenth check set (2026-12-06, twenty-third session): `make_bed.py --heldout15 DIR`, made before any
# code ran on it, to check the pitch seed for two voices (`speakers/resegment.py`) with a guard that tells a
# second voice's pitch group from a pitch tracker's octave errors by the speaker encoder, not by the MFCC
# likelihood the sixteenth set checked. Designed on every earlier file (bed, --extra, the eleventh to
# sixteenth sets). Its aim, men and women taking short turns (kal with lp and dita again, in new seeds);
# its risk, men pairs with machac or pc (tracked an octave off by phone), women pairs, a Spanish pair,
# three voices, a man's monologue.
# Adopted only if, here, the mean DER with the count given and estimated both do not rise, fewer files
# get worse than better (by > 0.5 point), and no file gets worse by more than 2 points. The guard as it
# runs here (fixed on the nine earlier files where the seed fired, before this set ran): the seed's
# drawing stands where the cosine between its two voices' mean ECAPA embeddings, over turns of 0.5 s or
# more (each voice at least two such turns, its longest 40), is lower than between the windows' drawing's.
# It fired on one file and was kept (z_mixed_kal_lp_short, count given, 12.1 -> 9.3 %); mean DER given
# 7.62 -> 7.44 %, estimated 5.88 -> 5.88 %, 1 better, 0 worse: adopted (benchmarks/RESULTS.md, "A pitch
# seed for two voices, judged by ECAPA"). Now used; an eighteenth set needs new seeds (2101+).
HELDOUT15 = _telephone_set("z", (0.3, 0.8), (
    *_short_pairs((
        ("mixed_sex", "kal", "lp", 2001, "pink", 12.0), ("mixed_sex", "lp", "kal", 2002, "white", 10.0),
        ("mixed_sex", "dita", "kal", 2003, "pink", 12.0), ("mixed_sex", "pc", "slt", 2004, "white", 12.0),
        ("mixed_sex", "ked", "lp", 2005, "white", 12.0), ("mixed_sex", "machac", "dita", 2006, "pink", 10.0),
        ("mixed_sex", "ona", "kal", 2007, "white", 12.0), ("mixed_sex", "slt", "machac", 2008, "pink", 12.0),
        ("same_sex_male", "machac", "ked", 2009, "white", 12.0),
        ("same_sex_male", "kal", "pc", 2010, "pink", 12.0),
        ("same_sex_male", "ph", "machac", 2011, "white", 10.0),
        ("same_sex_female", "ona", "lp", 2012, "white", 12.0),
        ("same_sex_female", "slt", "dita", 2013, "pink", 10.0),
    )),
    ("mixed_machac_lp_es_tel", "es", {"doctor": "machac", "patient": "lp"}, ES_WOMEN_NOISE, 2014, "pink", 12.0,
     ["mixed_sex"]),
    ("3spk_kal_lp_dita_tel", "en", {"doctor": "kal", "patient": "lp", "companion": "dita"}, EN_3SPK, 2015,
     "white", 12.0, []),
    ("mono_pc_tel", "en", {"doctor": "pc"}, _mono(EN_MONO[12:30], "doctor"), 2016, "white", 12.0,
     ["monologue"]),
), vary=True)

# An eighteenth check set (2026-12-06, twenty-fourth session): `make_bed.py --heldout16 DIR`, made before any
# code ran on it, to check a rule that joins two voices found (count estimated) whose mean ECAPA embeddings
# over their own turns lie as close as one voice's (the thirteenth set's failure: a monologue whose phrases
# move in pitch heard as two). Designed on the bed and the thirteenth and fourteenth sets. Its aim,
# monologues whose utterances move up to 2.5 semitones (formants kept) in eight voices, one in Spanish, two
# of short phrases, and a plain one; its risk, two people whose voices ECAPA may hear close: same-sex pairs
# taking short turns (two with pitch moving too), a man and a woman, a Spanish women pair, three voices.
# Adopted only if, here, the mean DER with the count estimated does not rise, the count is right on no
# fewer files, fewer files get worse than better (by > 0.5 point), and no file gets worse by more than
# 2 points (the count given is untouched by construction). The rule as it runs here (fixed on the bed and
# the thirteenth set before this set ran): with the count estimated less than 0.8 sure, two voices found,
# each with three turns of 0.5 s or more (its longest 40 heard by ECAPA), are joined where the cosine
# between their mean embeddings is at least 0.70 and one minus the mean cosine between the two voices'
# turns is at most 1.42 times one minus that within a voice. It joined six monologues' two voices (all six
# better: DER estimated 24.9-61.2 -> 1.0-35.4 %) and no two people; mean DER estimated 20.53 -> 10.03 %,
# count right on 11 -> 17 of 20: adopted (benchmarks/RESULTS.md, "One voice heard twice: ECAPA on each
# voice's turns"). Now used; a nineteenth set needs new seeds (2201+).
HELDOUT16 = _telephone_set("aa", (0.3, 0.8), (
    *_wide_monologues((
        ("slt", "en", 2, 2101, "pink", 12.0), ("ked", "en", 14, 2102, "white", 10.0),
        ("dita", "en", 20, 2103, "pink", 12.0), ("machac", "en", 4, 2104, "white", 12.0),
        ("ph", "en", 24, 2105, "pink", 10.0), ("pc", "es", 0, 2106, "white", 12.0),
        ("lp", "en", 9, 2107, "pink", 12.0), ("kal", "en", 16, 2108, "white", 12.0),
    )),
    *_phrase_monologues((("slt", 2109, "pink", 12.0), ("kal", 2110, "white", 10.0)), times=1, wide=True),
    ("mono_ona_tel", "en", {"doctor": "ona"}, _mono(EN_MONO[6:24], "doctor"), 2111, "white", 12.0, ["monologue"]),
    *_short_pairs((
        ("same_sex_female", "lp", "dita", 2112, "white", 12.0),
        ("same_sex_female", "ona", "slt", 2113, "pink", 10.0),
        ("same_sex_male", "ked", "kal", 2114, "white", 12.0),
        ("same_sex_male", "pc", "ph", 2115, "pink", 12.0),
        ("mixed_sex", "machac", "ona", 2116, "white", 12.0),
    )),
    *_short_pairs((
        ("same_sex_female", "slt", "lp", 2117, "pink", 12.0),
        ("same_sex_male", "kal", "machac", 2118, "white", 12.0),
    ), "wide_pitch_formants_kept"),
    ("women_ona_lp_es_tel", "es", {"doctor": "ona", "patient": "lp"}, ES_WOMEN_NOISE, 2119, "white", 12.0,
     ["same_sex_female"]),
    ("3spk_ked_slt_pc_tel", "en", {"doctor": "ked", "patient": "slt", "companion": "pc"}, EN_3SPK, 2120,
     "pink", 12.0, []),
), vary=True)

# A nineteenth check set (2026-12-06, twenty-fifth session): `make_bed.py --heldout17 DIR`, made before any
# code ran on it, to check two changes to the join of one voice heard twice (`listeners.join_one_voice`),
# both set on files already seen: two voices whose median pitches lie within 1.5 semitones must spread at
# most 1.25 (not 1.42) to be joined, and a joined voice takes another only where each of its parts would.
# Its risk, two people at one pitch: lp and dita (Spanish and English, long turns and short), two men
# who share a pitch (kal, ked), pc and ph; its aim, monologues whose halves may lie close in pitch (ked,
# kal, ona, lp wide, a ked phrase monologue). Kept only if here, count estimated, no two people are
# joined, and against the join as it was (1.42 at any pitch, a joined voice's mean) the mean DER is not
# higher and no file is worse by more than 2 points (the count given is untouched by construction).
HELDOUT17 = _telephone_set("ab", (0.3, 0.8), (
    ("women_lp_dita_es_tel", "es", {"doctor": "lp", "patient": "dita"}, ES_WOMEN_NOISE, 2201, "white", 12.0,
     ["same_sex_female"]),
    ("women_dita_lp_es_tel", "es", {"doctor": "dita", "patient": "lp"}, ES_WOMEN_NOISE, 2202, "pink", 10.0,
     ["same_sex_female"]),
    ("women_lp_dita_tel", "en", {"doctor": "lp", "patient": "dita"}, EN_WOMEN_TEL, 2203, "pink", 12.0,
     ["same_sex_female"]),
    *_short_pairs((
        ("same_sex_female", "dita", "lp", 2204, "white", 12.0),
        ("same_sex_male", "kal", "ked", 2205, "pink", 12.0),
        ("same_sex_male", "ph", "pc", 2206, "white", 10.0),
    )),
    ("men_ked_kal_tel", "en", {"doctor": "ked", "patient": "kal"}, EN_MEN, 2207, "white", 12.0, ["same_sex_male"]),
    *_wide_monologues((
        ("ked", "en", 6, 2208, "pink", 12.0), ("kal", "en", 22, 2209, "white", 10.0),
        ("ona", "en", 12, 2210, "white", 12.0), ("lp", "es", 3, 2211, "pink", 12.0),
    )),
    *_phrase_monologues((("ked", 2212, "white", 12.0),), times=1, wide=True),
), vary=True)

# Long telephone conversations (2026-12-04), tuning only, never committed as audio: `make_bed.py --long
# DIR`. The scripts four times over (3-4 minutes), to see whether resemblyzer stays unsure on longer
# files and what the second listener's window cap (`ecapa.MAX_WINDOWS`) leaves out.
LONG = [
    Bed("l_men_kal_ked_tel", "en", "tune", {"doctor": "kal", "patient": "ked"}, EN_MEN * 4, 601,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_male"], noise=("white", 12.0), telephone=True),
    Bed("l_women_slt_dita_tel", "en", "tune", {"doctor": "slt", "patient": "dita"}, EN_WOMEN_TEL * 4, 602,
        ["telephone_300_3400Hz", "pink_noise_snr12dB", "same_sex_female"], noise=("pink", 12.0), telephone=True),
    Bed("l_women_lp_dita_es_tel", "es", "tune", {"doctor": "lp", "patient": "dita"}, ES_WOMEN_NOISE * 4, 603,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "same_sex_female"], noise=("white", 12.0), telephone=True),
    Bed("l_women_slt_ona_short", "en", "tune", {"doctor": "slt", "patient": "ona"}, EN_WOMEN_SHORT * 4, 604,
        ["telephone_300_3400Hz", "pink_noise_snr10dB", "short_turns", "same_sex_female"], noise=("pink", 10.0),
        gaps=(0.2, 0.5), telephone=True),
    # Long telephone monologues in white noise (2026-12-04, tenth session): the check file en_mono_tel
    # (slt, 3 minutes) came out as two sure speakers while the minute-long t3_mono_slt was right;
    # these other voices, seeds and texts are where a fix for that may be tuned.
    Bed("l_mono_lp_tel", "en", "tune", {"doctor": "lp"}, _mono(EN_MONO, "doctor"), 605,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("l_mono_dita_tel", "en", "tune", {"doctor": "dita"}, _mono(EN_MONO, "doctor"), 606,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("l_mono_ona_es_tel", "es", "tune", {"doctor": "ona"}, _mono(ES_MONO * 3, "doctor"), 607,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("l_mono_kal_tel", "en", "tune", {"doctor": "kal"}, _mono(EN_MONO, "doctor"), 608,
        ["telephone_300_3400Hz", "white_noise_snr10dB", "monologue"], noise=("white", 10.0), gaps=(0.3, 0.8),
        telephone=True),
    Bed("l_mono_slt_tel", "en", "tune", {"doctor": "slt"}, _mono([t[1] for t in EN_MEN + EN_3SPK], "doctor"), 609,
        ["telephone_300_3400Hz", "white_noise_snr12dB", "monologue"], noise=("white", 12.0), gaps=(0.3, 0.8),
        telephone=True),
]


# ---------------------------------------------------------------------------- mixing


def _db(x: float) -> float:
    return 10 ** (x / 20)


# sox's name for the raw 32-bit float mono samples `_sox` and `_rubberband` pipe through it.
_RAW_F32 = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(RATE)]


def _sox(x: np.ndarray, *effects: str) -> np.ndarray:
    """`x` through sox's `effects`, at whatever length they leave it."""
    out = subprocess.run(["sox", *_RAW_F32, "-", *_RAW_F32, "-", *effects], input=x.astype(np.float32).tobytes(),
                         check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.float32).astype(np.float64)


def _sox_filter(x: np.ndarray, *effects: str) -> np.ndarray:
    y = _sox(x, *effects)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def telephone(x: np.ndarray) -> np.ndarray:
    """Narrowband channel: 8 kHz, 300-3400 Hz band, back to 16 kHz (sox filters are zero-delay)."""
    return _sox_filter(x, "rate", "-v", "8000", "sinc", "300-3400", "rate", "-v", str(RATE))


def noise(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec[1:] /= np.sqrt(f[1:] / f[1])  # 1/f power
    spec[0] = 0
    return np.fft.irfft(spec, n)


def _say(voice: Voice, text: str, lang: str) -> str:
    if text in SAY:
        return SAY[text][voice.native if voice.engine == "festival" else "es"]
    return tts_text(voice, text, lang)


def _vary(x: np.ndarray, rng: np.random.Generator, cents: float = 50.0, keep_formants: bool = False) -> np.ndarray:
    """`x` said up to 8 % faster or slower and up to `cents` higher or lower: the same person.

    sox's `pitch` resamples, moving the formants with the pitch; with `keep_formants` rubberband moves
    the pitch alone (its R3 engine, formants preserved), as a person raising their voice does.
    """
    tempo, pitch = rng.uniform(0.92, 1.08), rng.uniform(-cents, cents)
    if not keep_formants:
        return _sox(x, "tempo", "-s", f"{tempo:.4f}", "pitch", f"{pitch:.1f}")
    return _rubberband(_sox(x, "tempo", "-s", f"{tempo:.4f}"), pitch / 100)


def _rubberband(x: np.ndarray, semitones: float) -> np.ndarray:
    """`x` raised by `semitones` with its formants kept (rubberband -3 -F; Debian's rubberband-cli)."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.wav", Path(d) / "out.wav"
        subprocess.run(["sox", *_RAW_F32, "-", "-e", "floating-point", str(src)], input=x.astype(np.float32).tobytes(),
                       check=True, capture_output=True)
        subprocess.run(["rubberband", "-q", "-3", "-F", "-p", f"{semitones:.3f}", str(src), str(dst)],
                       check=True, capture_output=True)
        out = subprocess.run(["sox", str(dst), *_RAW_F32, "-"], check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype=np.float32).astype(np.float64)


def build(bed: Bed, tmp: Path) -> dict:
    rng = np.random.default_rng(bed.seed)
    varied = np.random.default_rng([bed.seed, 1])  # its own stream: gains, gaps and noise stay as unvaried
    turns = [(t[0], t[1], t[2] if len(t) > 2 else {}) for t in bed.turns]
    # Synthesize every utterance and cut festival's own lead/tail silence loosely.
    raw = []
    for speaker, text, _ in turns:
        voice = VOICES[bed.cast[speaker]]
        x = speak(voice, _say(voice, text, bed.language), tmp)
        x = _vary(x, varied, bed.vary_cents, bed.keep_formants) if bed.vary else x
        raw.append(trim(x, np.abs(x).max() * _db(-70)))
    # One gain per speaker: similar RMS, +-3 dB per person; then the exact trim.
    gains = {}
    for speaker in bed.cast:
        cat = np.concatenate([x for x, (s, _, _) in zip(raw, turns) if s == speaker])
        level = TARGET_RMS_DBFS + rng.uniform(-3.0, 3.0)
        gains[speaker] = _db(level) / np.sqrt(np.mean(cat ** 2))
    utts = [trim(x * gains[s], _db(SILENCE_DBFS)) for x, (s, _, _) in zip(raw, turns)]
    # Timeline in samples.
    lead = int(rng.uniform(0.3, 0.8) * RATE)
    placed, end_max = [], lead
    for k, ((speaker, text, opts), x) in enumerate(zip(turns, utts)):
        if k == 0:
            start = lead
        else:
            gap = opts.get("gap")
            if gap is None:
                gap = rng.uniform(*bed.gaps)
            start = end_max + int(round(gap * RATE))
            prev_start, prev_speaker = placed[-1][0], placed[-1][2]
            if gap < 0 and (start <= prev_start or prev_speaker == speaker):
                raise ValueError(f"{bed.name}: overlap of turn {k} reaches past the previous turn")
        placed.append((start, start + len(x), speaker, text, x))
        end_max = max(end_max, start + len(x))
    total = end_max + int(rng.uniform(0.4, 0.8) * RATE)
    mix = np.zeros(total)
    active = np.zeros(total, dtype=bool)
    for start, end, _, _, x in placed:
        mix[start:end] += x
        active[start:end] = True
    if bed.telephone:
        mix = telephone(mix)
    if bed.noise:
        colour, snr = bed.noise
        n = noise(colour, total, rng)
        if bed.telephone:
            n = telephone(n)
        p_speech = np.mean(mix[active] ** 2)
        n *= np.sqrt(p_speech / _db(snr) ** 2 / np.mean(n ** 2))
        mix = mix + n
    peak = np.abs(mix).max()
    if peak > _db(PEAK_DBFS - 0.5):
        mix *= _db(PEAK_DBFS - 0.5) / peak
    pcm = np.clip(np.round(mix * 32767), -32767, 32767).astype(np.int16)
    return {"pcm": pcm, "placed": placed, "gains": gains}


def _overlap_fraction(placed: list, total: int) -> float:
    count = np.zeros(total, dtype=np.int16)
    for start, end, *_ in placed:
        count[start:end] += 1
    return float((count > 1).sum() / max(1, (count > 0).sum()))


def _sec(samples: int) -> float:
    return round(samples / RATE, 7)


def _write_flac(path: Path, pcm: np.ndarray) -> None:
    try:
        import soundfile as sf
    except ImportError:
        with tempfile.TemporaryDirectory() as d:
            raw = Path(d) / "a.raw"
            raw.write_bytes(pcm.tobytes())
            subprocess.run(["sox", "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(RATE), str(raw),
                            "-C", "8", str(path)], check=True)
        return
    sf.write(str(path), pcm, RATE, subtype="PCM_16", format="FLAC")


def write(bed: Bed, tmp: Path, out: Path = HERE) -> dict:
    built = build(bed, tmp)
    pcm, placed = built["pcm"], built["placed"]
    flac = out / f"{bed.name}.flac"
    _write_flac(flac, pcm)
    segments = [{"start": _sec(s), "end": _sec(e), "speaker": spk, "role": spk, "text": text}
                for s, e, spk, text, _ in placed]
    voices = {spk: VOICES[key].name if VOICES[key].engine == "festival" else f"espeak-ng:{VOICES[key].name}"
              for spk, key in sorted(bed.cast.items())}
    talk = {spk: sum(e - s for s, e, sp, *_ in placed if sp == spk) for spk in bed.cast}
    share = max(talk.values()) / sum(talk.values())
    overlap = _overlap_fraction(placed, len(pcm))
    # A script's own overlaps are marked wherever they come (the scorers leave overlapped speech out by
    # it): the check sets' three-voice files said EN_3SPK's overlaps unmarked, so a one-speaker-at-a-time
    # system was charged ~9 % of missed speech on them (p_3spk_*, s_3spk_kal_ona_machac_tel).
    marked = bed.conditions if overlap == 0 or "overlap" in bed.conditions else [*bed.conditions, "overlap"]
    conditions = [f"overlap_{round(100 * overlap)}pct" if c == "overlap" else
                  f"dominant_speaker_{round(100 * share)}pct" if c == "dominant_speaker" else c
                  for c in marked]
    truth = {
        "audio": flac.name,
        "language": bed.language,
        "duration_s": _sec(len(pcm)),
        "speakers": sorted(bed.cast),
        "segments": segments,
        "split": bed.split,
        "num_speakers": len(bed.cast),
        "conditions": conditions,
        "voices": voices,
    }
    (out / f"{bed.name}.truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n")
    rttm = "".join(f"SPEAKER {bed.name} 1 {_sec(s):.7f} {_sec(e - s):.7f} <NA> <NA> {spk} <NA> <NA>\n"
                   for s, e, spk, *_ in placed)
    (out / f"{bed.name}.rttm").write_text(rttm)
    return truth


def main(argv: list[str]) -> int:
    missing = [t for t in ("text2wave", "sox", "espeak-ng") if not shutil.which(t)]
    if missing:
        print(f"make_bed.py needs {', '.join(missing)} (apt-get install festival sox espeak-ng "
              "and the festvox voices)", file=sys.stderr)
        return 2
    beds, out = BEDS, HERE
    sets = {
        "--extra": EXTRA, "--heldout": HELDOUT, "--heldout2": HELDOUT2, "--heldout3": HELDOUT3, "--heldout4": HELDOUT4,
        "--heldout5": HELDOUT5,
        "--heldout6": HELDOUT6,
        "--heldout7": HELDOUT7,
        "--heldout8": HELDOUT8,
        "--heldout9": HELDOUT9,
        "--heldout10": HELDOUT10,
        "--heldout11": HELDOUT11,
        "--heldout12": HELDOUT12,
        "--heldout13": HELDOUT13,
        "--heldout14": HELDOUT14,
        "--heldout15": HELDOUT15,
        "--heldout16": HELDOUT16,
        "--heldout17": HELDOUT17,
        "--long": LONG,
    }
    if argv[:1] and argv[0] in sets:
        if len(argv) < 2:
            print(f"usage: make_bed.py {argv[0]} DIR [NAME...]", file=sys.stderr)
            return 2
        beds, out, argv = sets[argv[0]], Path(argv[1]), argv[2:]
        out.mkdir(parents=True, exist_ok=True)
    wanted = set(argv)
    if any(b.keep_formants for b in beds if not wanted or b.name in wanted) and not shutil.which("rubberband"):
        print("these files need rubberband (apt-get install rubberband-cli)", file=sys.stderr)
        return 2
    unknown = wanted - {b.name for b in beds}
    if unknown:
        print(f"unknown bed files: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        for bed in beds:
            if wanted and bed.name not in wanted:
                continue
            truth = write(bed, Path(d), out)
            size = (out / truth["audio"]).stat().st_size
            print(f"{bed.name}: {truth['duration_s']:.1f} s, {truth['num_speakers']} spk, {bed.split}, "
                  f"{size / 1e6:.2f} MB, {', '.join(truth['conditions'])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

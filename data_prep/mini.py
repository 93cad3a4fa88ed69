"""An offline corpus: short LJSpeech sentences spoken by a local voice, in the LJSpeech layout.

It lets the whole recipe (features, training, synthesis, evaluation) run end to end without a
2.6 GB download. The default voice, festival's HTS slt, is trained on a real female speaker, so
spectra, F0 and formant movements look like recorded speech; espeak-ng is a robotic alternative.
This module chooses the sentences and writes the corpus; data_prep.voices only speaks.
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from data_prep.audio import load_audio
from data_prep.features import SAMPLE_RATE
from data_prep.ljspeech import ManifestReport, write_manifests
from data_prep.manifests import SPLITS, atomic_write_text, corpus_sentences, standard_split
from data_prep.voices import DEFAULT_VOICE, get_voice
from tts_ebm.errors import UserInputError

MIN_CHARS = 20  # about 1 s of speech
MAX_CHARS = 70  # about 4 s
VOICE_FILE = "voice.txt"  # which voice spoke OUT/wavs, so a rerun never mixes two voices
LEGACY_VOICE = "espeak"  # corpora written before VOICE_FILE existed were all espeak-ng


def choose_ids(n: dict[str, int], seed: int, max_chars: int = MAX_CHARS) -> dict[str, list[str]]:
    """n[split] ids of MIN_CHARS..max_chars sentences from that split of the standard split."""
    texts = corpus_sentences()
    chosen = {}
    for split, ids in standard_split().items():
        short = [i for i in ids if MIN_CHARS <= len(texts[i]) <= max_chars]
        if n[split] > len(short):
            raise UserInputError(
                f"--n-{split} {n[split]} exceeds the {len(short)} {split} sentences of "
                f"{MIN_CHARS}..{max_chars} characters; raise --max-chars"
            )
        chosen[split] = sorted(random.Random(f"{seed}-{split}").sample(short, n[split]))
    return chosen


def _is_valid_wav(path: Path) -> bool:
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError):
        return False
    return (info.samplerate, info.channels, info.subtype, info.frames > 0) == (
        SAMPLE_RATE,
        1,
        "PCM_16",
        True,
    )


def _claim_voice(out: Path, voice: str) -> None:
    """Record voice in OUT, or refuse when OUT already holds another voice's wavs."""
    marker = out / VOICE_FILE
    if marker.is_file():
        previous = marker.read_text().strip()
    elif any((out / "wavs").glob("*.wav")):
        previous = LEGACY_VOICE
    else:
        previous = voice
    if previous != voice:
        raise UserInputError(
            f"{out} was spoken by voice {previous!r}, not {voice!r}; use another --out "
            f"(or delete {out}) rather than mixing voices"
        )
    atomic_write_text(marker, voice + "\n")


def write_corpus_wav(raw: Path, path: Path) -> None:
    """raw (any rate) as a 22 050 Hz PCM-16 mono wav at path, peak at most 0.95, written atomically."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load_audio warns when it resamples, as it must here
        wav = load_audio(raw, SAMPLE_RATE)
    peak = np.abs(wav).max()
    tmp_path = path.with_name(f".{path.name}.tmp{os.getpid()}")
    sf.write(tmp_path, wav / max(peak / 0.95, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp_path, path)


def speak_corpus_wavs(
    voice: str, texts: dict[str, str], wav_dir: Path, workers: int, desc: str | None = None
) -> int:
    """Speak each id's text into wav_dir/<id>.wav in the corpus format; returns how many were spoken.

    Wavs that are already valid are kept and each new one appears only once complete, so an
    interrupted run just continues; `workers` voice processes speak at once.
    """
    todo = [utt for utt in texts if not _is_valid_wav(wav_dir / f"{utt}.wav")]
    with tempfile.TemporaryDirectory(prefix="tts-ebm-voice-") as tmp:
        jobs = [(texts[utt], Path(tmp) / f"{utt}.wav") for utt in todo]
        spoken = get_voice(voice).speak_many(jobs, workers)
        for raw in tqdm(spoken, total=len(jobs), desc=desc or voice, unit="utt"):
            write_corpus_wav(raw, wav_dir / raw.name)
            raw.unlink()
    return len(todo)


def build_mini_corpus(
    out: str | Path,
    n_train: int = 240,
    n_val: int = 12,
    n_test: int = 12,
    seed: int = 0,
    workers: int = 2,
    voice: str = DEFAULT_VOICE,
    max_chars: int = MAX_CHARS,
) -> ManifestReport:
    """Write OUT/metadata.csv, OUT/wavs/*.wav, OUT/voice.txt and OUT/manifests/{train,val,test}.tsv.

    Reruns skip wavs that are already valid, so an interrupted build just continues.
    """
    speaker = get_voice(voice)
    speaker.require()
    out = Path(out)
    chosen = choose_ids(dict(zip(SPLITS, (n_train, n_val, n_test))), seed, max_chars)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    _claim_voice(out, voice)
    texts = corpus_sentences()
    ids = [utt for split in SPLITS for utt in chosen[split]]
    speak_corpus_wavs(voice, {utt: texts[utt] for utt in ids}, out / "wavs", workers)
    atomic_write_text(out / "metadata.csv", "".join(f"{u}|{texts[u]}|{texts[u]}\n" for u in ids))
    return write_manifests(out, out / "manifests", chosen)

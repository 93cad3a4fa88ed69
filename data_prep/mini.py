"""An offline corpus: short LJSpeech sentences spoken by espeak-ng, in the LJSpeech layout.

It lets the whole recipe (features, training, synthesis, evaluation) run end to end without a
2.6 GB download. The voice is robotic, but it is consistent, which is what a smoke test needs.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from data_prep.audio import load_audio
from data_prep.features import SAMPLE_RATE
from data_prep.ljspeech import ManifestReport, write_manifests
from data_prep.manifests import SPLITS, corpus_sentences, standard_split
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_path, atomic_write_text

MIN_CHARS = 20  # about 1 s of espeak-ng speech
MAX_CHARS = 70  # about 4 s


def choose_ids(n: dict[str, int], seed: int) -> dict[str, list[str]]:
    """n[split] ids of short sentences drawn from that split of the standard LJSpeech split."""
    texts = corpus_sentences()
    chosen = {}
    for split, ids in standard_split().items():
        short = [i for i in ids if MIN_CHARS <= len(texts[i]) <= MAX_CHARS]
        if n[split] > len(short):
            raise UserInputError(f"--n-{split} {n[split]} exceeds the {len(short)} short sentences")
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


def speak(text: str, path: Path) -> None:
    """Speak text with espeak-ng into a 22 050 Hz 16-bit mono wav at path (written atomically)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        result = subprocess.run(
            ["espeak-ng", "-v", "en-us", "-w", str(raw), "--stdin"],
            input=text,
            text=True,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0 or not raw.is_file():
            raise RuntimeError(f"espeak-ng failed on {text!r}: {result.stderr.strip()}")
        wav = load_audio(raw, SAMPLE_RATE)
    peak = np.abs(wav).max()
    with atomic_path(path) as tmp_path:
        sf.write(tmp_path, wav / max(peak / 0.95, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")


def build_mini_corpus(
    out: str | Path,
    n_train: int = 240,
    n_val: int = 12,
    n_test: int = 12,
    seed: int = 0,
    workers: int = 2,
) -> ManifestReport:
    """Write OUT/metadata.csv, OUT/wavs/*.wav and OUT/manifests/{train,val,test}.tsv.

    Reruns skip wavs that are already valid, so an interrupted build just continues.
    """
    if shutil.which("espeak-ng") is None:
        raise UserInputError(
            "espeak-ng not found on PATH; install it with `apt-get install espeak-ng`"
        )
    out = Path(out)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    chosen = choose_ids(dict(zip(SPLITS, (n_train, n_val, n_test))), seed)
    texts = corpus_sentences()
    ids = [utt for split in SPLITS for utt in chosen[split]]
    todo = [utt for utt in ids if not _is_valid_wav(out / "wavs" / f"{utt}.wav")]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = pool.map(lambda utt: speak(texts[utt], out / "wavs" / f"{utt}.wav"), todo)
        for _ in tqdm(jobs, total=len(todo), desc="espeak-ng", unit="utt"):
            pass
    atomic_write_text(out / "metadata.csv", "".join(f"{u}|{texts[u]}|{texts[u]}\n" for u in ids))
    return write_manifests(out, out / "manifests", chosen)

"""Optional model-based metrics (Whisper WER, UTMOS).

Both download weights at first use, so they are imported lazily, run only when asked for, and
turn a missing package or unreachable download into a `UserInputError` saying what to install.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tts_ebm.errors import UserInputError


def read_texts(path: str | Path) -> dict[str, str]:
    """`{id: text}` from an `id|text` file (the file given to `tts-ebm synthesize`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    texts = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if "|" not in line:
            raise UserInputError(f"{path}:{number}: expected 'id|text', got {line!r}")
        utt_id, text = line.split("|", 1)
        texts[utt_id.strip()] = text.strip()
    return texts


def whisper_wer(
    wavs: dict[str, Path], texts: dict[str, str], model_name: str = "base"
) -> dict:
    """Corpus-level word error rate of Whisper transcripts against the input texts."""
    try:
        import jiwer
        import whisper
        from whisper.normalizers import EnglishTextNormalizer
    except ImportError as error:
        raise UserInputError(
            f"--whisper needs the packages openai-whisper and jiwer ({error}); "
            "install them with `pip install openai-whisper jiwer`"
        ) from error
    ids = sorted(set(wavs) & set(texts))
    if not ids:
        raise UserInputError("no synthesized id has a text in the --text-file for Whisper WER")
    try:
        model = whisper.load_model(model_name)
    except Exception as error:  # network, cache or checksum failures all end here
        raise UserInputError(
            f"could not load the Whisper model {model_name!r} (downloaded on first use): {error}"
        ) from error
    normalize = EnglishTextNormalizer()
    hypotheses = {i: model.transcribe(str(wavs[i]), language="en")["text"] for i in ids}
    refs = [normalize(texts[i]) for i in ids]
    hyps = [normalize(hypotheses[i]) for i in ids]
    return {
        "mean": float(jiwer.wer(refs, hyps)),
        "n": len(ids),
        "model": model_name,
        "per_utterance": {i: float(jiwer.wer(r, h)) for i, r, h in zip(ids, refs, hyps)},
    }


def utmos(wavs: dict[str, Path]) -> dict:
    """Mean UTMOS22 (strong) predicted MOS via the SpeechMOS torch.hub entry."""
    try:
        import torch

        model = torch.hub.load("tarepan/SpeechMOS:v1.2.0", "utmos22_strong", trust_repo=True)
    except Exception as error:  # no network / no cache / hub API change
        raise UserInputError(
            "could not load UTMOS from torch.hub (tarepan/SpeechMOS, needs internet on first "
            f"use): {error}"
        ) from error
    import soundfile as sf

    scores = {}
    with torch.no_grad():
        for utt_id, path in sorted(wavs.items()):
            wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
            scores[utt_id] = float(model(torch.from_numpy(wav.mean(axis=1))[None], sr).item())
    return {"mean": float(np.mean(list(scores.values()))), "n": len(scores), "per_utterance": scores}

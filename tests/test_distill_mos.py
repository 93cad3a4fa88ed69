"""Distill-MOS, the second MOS judge: its known answers on real speech and on what degrades it,
and its place in `evaluate_folders`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vocoder
from data_prep.audio import load_audio
from data_prep.features import SAMPLE_RATE, mel_spectrogram
from tts_ebm.evaluation import distill_mos, metric_table
from tts_ebm.evaluation.evaluate import evaluate_folders
from tts_ebm.evaluation.metric_table import Source

CLIP = Path(__file__).parent / "data" / "ljspeech" / "LJ001-0031.flac"


def _to_16k(wav: np.ndarray, path: Path) -> np.ndarray:
    sf.write(path, wav, SAMPLE_RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_audio(path, target_sr=distill_mos.SAMPLE_RATE)


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, float]:
    """Distill-MOS of one LJSpeech recording, its copy synthesis through the packaged HiFi-GAN,
    its Griffin-Lim resynthesis, and white noise of the same length."""
    folder = tmp_path_factory.mktemp("distill")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recording = load_audio(CLIP, target_sr=SAMPLE_RATE)
    mel = torch.from_numpy(mel_spectrogram(recording))[None]
    with torch.no_grad():
        waves = {name: vocoder.load(spec, "cpu")(mel)[0].numpy()
                 for name, spec in (("copy", "hifigan-lj"), ("griffin_lim", "griffin-lim"))}
    waves["recording"] = recording
    waves["noise"] = 0.1 * np.random.default_rng(0).standard_normal(recording.size)
    return {name: distill_mos.distill_mos(_to_16k(wav, folder / f"{name}.wav"))
            for name, wav in waves.items()}


def test_known_answers_recording_copy_synthesis_griffin_lim_noise(scores):
    # measured: recording 4.50, copy synthesis 4.25, Griffin-Lim 3.48, noise 1.37
    assert scores["recording"] > scores["copy"] > scores["griffin_lim"] > scores["noise"]
    assert scores["recording"] > 4.0
    assert scores["copy"] - scores["griffin_lim"] > 0.5
    assert scores["noise"] < 2.0


def test_level_invariant():
    """The judge peak-normalises each crop: a quieter copy of a clip scores the same."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wav = load_audio(CLIP, target_sr=distill_mos.SAMPLE_RATE)
    assert distill_mos.distill_mos(0.1 * wav) == pytest.approx(distill_mos.distill_mos(wav),
                                                               abs=1e-3)


def test_evaluate_folders_scores_and_summarises_it(tmp_path):
    folder = tmp_path / "syn"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        sf.write(folder / f"n{i}.wav", 0.1 * rng.standard_normal(SAMPLE_RATE), SAMPLE_RATE)
    result = evaluate_folders(None, folder, workers=1, progress=False, distill_mos=True)
    assert set(metric_table.keys(Source.DISTILL_MOS)) == {"distill_mos"}
    assert all(1.0 <= row["distill_mos"] < 2.0 for row in result["utterances"].values())
    assert result["summary"]["distill_mos"]["n"] == 2
    assert result["settings"]["distill_mos"] == distill_mos.DESCRIPTION
    without = evaluate_folders(None, folder, workers=1, progress=False, dnsmos=True)
    assert "distill_mos" not in without["summary"]

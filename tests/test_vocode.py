"""`tts-ebm vocode` (copy synthesis) and the mel metrics of `tts-ebm evaluate`, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from tts_ebm.cli import main

FRAMES = {"u1": 40, "u2": 56}


def _mel(rng: np.random.Generator, frames: int) -> np.ndarray:
    """A speech-like raw log-mel: a smooth envelope with moving detail, above the -11.5 floor."""
    envelope = gaussian_filter1d(rng.normal(-4.0, 1.5, (80, 1)), 3.0, axis=0)
    detail = gaussian_filter1d(rng.normal(0.0, 1.0, (80, frames)), 2.0, axis=0)
    return (envelope + detail).astype(np.float32)


@pytest.fixture()
def mels(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path / "dump_mels"
    folder.mkdir()
    for utt_id, frames in FRAMES.items():
        np.save(folder / f"{utt_id}.npy", _mel(rng, frames))
    np.save(folder / "train1.npy", _mel(rng, 30))  # a dump holds more than the test set
    return folder


def test_vocode_writes_wavs_for_the_listed_ids(tmp_path: Path, mels: Path, capsys) -> None:
    ids = tmp_path / "test_text.txt"
    ids.write_text("u1|first text\nu2|second text\n")
    out = tmp_path / "copy_synthesis"
    assert main(["vocode", "--mels", str(mels), "--out", str(out), "--ids", str(ids),
                 "--vocoder", "griffin-lim", "--no-progress"]) == 0
    assert sorted(p.name for p in out.glob("*.wav")) == ["u1.wav", "u2.wav"]
    for utt_id, frames in FRAMES.items():
        wav, rate = sf.read(out / f"{utt_id}.wav")
        assert rate == 22050 and len(wav) == frames * 256
        assert 0.01 < np.abs(wav).max() <= 1.0
    rtf = json.loads((out / "rtf.json").read_text())
    assert rtf["n_utterances"] == 2 and rtf["vocoder"] == "griffin-lim"
    assert rtf["audio_seconds"] == pytest.approx(96 * 256 / 22050)
    assert rtf["rtf"] == pytest.approx(rtf["vocoder_seconds"] / rtf["audio_seconds"])
    assert "wrote 2 utterance(s)" in capsys.readouterr().out


def test_vocode_input_errors(tmp_path: Path, mels: Path, capsys) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("u1\nnope\n")
    assert main(["vocode", "--mels", str(mels), "--out", str(tmp_path / "o"), "--ids", str(ids),
                 "--vocoder", "griffin-lim"]) == 2
    assert "1 ids have no mel" in capsys.readouterr().err and not (tmp_path / "o").exists()
    np.save(mels / "bad.npy", np.zeros((60, 20), np.float32))
    ids.write_text("bad\n")
    assert main(["vocode", "--mels", str(mels), "--out", str(tmp_path / "o"), "--ids", str(ids),
                 "--vocoder", "griffin-lim"]) == 2
    assert "expected 80 mel bins" in capsys.readouterr().err


def test_evaluate_adds_mel_metrics(tmp_path: Path, mels: Path, capsys) -> None:
    """Reference mels vs generated ones (smoothed copies saved beside their wavs)."""
    reference, synthesized = tmp_path / "ref", tmp_path / "syn"
    for folder in (reference, synthesized):
        folder.mkdir()
    for utt_id in FRAMES:
        mel = np.load(mels / f"{utt_id}.npy")
        np.save(synthesized / f"{utt_id}.npy", uniform_filter1d(mel, 5, axis=1))
    assert main(["vocode", "--mels", str(mels), "--out", str(reference), "--ids",
                 str(_ids(tmp_path)), "--vocoder", "griffin-lim", "--no-progress"]) == 0
    assert main(["vocode", "--mels", str(synthesized), "--out", str(synthesized),
                 "--vocoder", "griffin-lim", "--no-progress"]) == 0
    out = tmp_path / "eval" / "metrics.json"
    common = ["evaluate", "--reference", str(reference), "--out", str(out), "--reference-mels",
              str(mels), "--f0-method", "dio", "--no-dnsmos", "--workers", "1", "--no-progress"]
    assert main([*common, "--synthesized", str(synthesized)]) == 0
    result = json.loads(out.read_text())
    summary = result["summary"]
    assert summary["gv_ratio"]["n"] == 2 and summary["gv_ratio"]["mean"] < 0.9
    assert summary["roughness_ratio"]["mean"] < 0.5
    assert summary["mel_mcd_db"]["mean"] > 0 and summary["mel_fd"]["mean"] > 0
    assert {"mel_mcd_db", "gv_ratio", "roughness_ratio"} <= set(result["utterances"]["u1"])
    assert result["settings"]["mel_patch_frames"] == 5
    assert "| mel_fd |" in out.with_suffix(".md").read_text()

    capsys.readouterr()
    assert main([*common, "--synthesized", str(synthesized),
                 "--synthesized-mels", str(mels)]) == 0  # the reference against itself
    summary = json.loads(out.read_text())["summary"]
    assert summary["mel_mcd_db"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert summary["mel_fd"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert summary["gv_ratio"]["mean"] == pytest.approx(1.0)

    capsys.readouterr()
    assert main([*common, "--synthesized", str(reference)]) == 0  # no mels beside these wavs
    assert "mel metrics skipped" in capsys.readouterr().err
    assert "gv_ratio" not in json.loads(out.read_text())["summary"]


def _ids(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"{utt_id}|text\n" for utt_id in FRAMES))
    return path

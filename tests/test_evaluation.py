"""Evaluation metrics on known-answer signals, folder matching and bad inputs, the CLI."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from tts_ebm.commands import evaluate as evaluate_command
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import feature_cache
from tts_ebm.evaluation.evaluate import evaluate_folders
from tts_ebm.evaluation.metrics import (
    MetricSettings,
    compare,
    fine_log_f0_rmse_cents,
    gross_pitch_error_rate,
    log_f0_rmse_cents,
    waveform_mcd,
)
from tts_ebm.statistics import mean_ci95, paired_difference

SR = 22050
FAST = MetricSettings(f0_method="dio")  # folder tests check plumbing, not F0 quality


def _espeak(text: str, path: Path) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    wav, sr = sf.read(path)
    return librosa.resample(wav, orig_sr=sr, target_sr=SR) if sr != SR else wav


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("espeak")
    return {
        "a": _espeak("The quick brown fox jumps over the lazy dog.", folder / "a.wav"),
        "b": _espeak("Printing differs from most of the arts.", folder / "b.wav"),
    }


def _harmonic(f0: float, seconds: float = 0.6) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    wav = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    return 0.3 * wav / np.abs(wav).max()


def test_identical_speech_scores_zero(speech: dict[str, np.ndarray]) -> None:
    metrics = compare(speech["a"], speech["a"])  # default settings: harvest
    assert metrics["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["log_f0_rmse_cents"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["vuv_error_rate"] == 0.0
    assert metrics["duration_ratio"] == 1.0
    assert metrics["n_voiced_both"] > 20


def test_semitone_shift_is_100_cents() -> None:
    metrics = compare(_harmonic(150.0), _harmonic(150.0 * 2 ** (1 / 12)))
    assert metrics["log_f0_rmse_cents"] == pytest.approx(100.0, abs=3.0)
    assert metrics["vuv_error_rate"] < 0.05
    # a fifth up must read as 700 cents: the unit is not log-Hz or semitones
    fifth = compare(_harmonic(150.0), _harmonic(150.0 * 2 ** (7 / 12)))
    assert fifth["log_f0_rmse_cents"] == pytest.approx(700.0, abs=10.0)


def test_time_stretch_is_absorbed_by_dtw(speech: dict[str, np.ndarray]) -> None:
    stretched = librosa.effects.time_stretch(speech["a"], rate=0.8)  # 25 % longer
    same_text = compare(speech["a"], stretched, FAST)
    other_text = compare(speech["a"], speech["b"][: stretched.size], FAST)
    assert same_text["duration_ratio"] == pytest.approx(1.25, abs=0.01)
    assert same_text["mcd_db"] < 0.6 * other_text["mcd_db"]


def test_mcd_formula_and_c0_convention() -> None:
    ref = np.zeros((5, 35))
    syn = ref.copy()
    syn[:, 3] = 1.0  # one coefficient off by one everywhere
    syn[:, 0] = 7.0  # gain: ignored unless include_c0
    path = (np.arange(5), np.arange(5))
    one = 10 / math.log(10) * math.sqrt(2)
    assert waveform_mcd(ref, syn, path) == pytest.approx(one)
    assert waveform_mcd(ref, syn, path, include_c0=True) == pytest.approx(
        10 / math.log(10) * math.sqrt(2 * (1 + 49))
    )


def test_gain_change_does_not_count_as_distortion(speech: dict[str, np.ndarray]) -> None:
    assert compare(speech["a"], 0.5 * speech["a"], FAST)["mcd_db"] < 1e-3


def test_mean_ci95_uses_t_distribution() -> None:
    row = mean_ci95([1.0, 2.0, 3.0])
    assert row["mean"] == 2.0 and row["std"] == 1.0 and row["n"] == 3
    assert row["ci95"] == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert mean_ci95([4.0]) == {"mean": 4.0, "std": None, "ci95": None, "n": 1}


def test_the_paired_difference_is_a_known_answer() -> None:
    """Per-utterance differences over the utterances both scored (a t-interval of 4 numbers)."""
    chosen = {"utterances": {f"u{i}": {"dnsmos_p808": 3.0 + d} for i, d in
                             enumerate([0.1, 0.3, 0.2, 0.4])} | {"failed": {"dnsmos_p808": None}}}
    mu = {"utterances": {f"u{i}": {"dnsmos_p808": 3.0} for i in range(4)}
          | {"failed": {"dnsmos_p808": 1.0}, "extra": {"dnsmos_p808": 9.0}}}
    row = paired_difference(chosen, mu, "dnsmos_p808")
    sd = math.sqrt(sum((d - 0.25) ** 2 for d in [0.1, 0.3, 0.2, 0.4]) / 3)
    assert (row["mean"], row["n"]) == (pytest.approx(0.25), 4)
    assert row["ci95"] == pytest.approx(3.182446 * sd / 2, rel=1e-6)  # t(0.975, 3)


def test_the_paired_wer_difference_is_the_difference_of_corpus_wers() -> None:
    """Word errors 4,0,2 against 1,1,1 over 10,20,30 words: corpus WERs 6/60 - 3/60 = 0.05
    (the sentence-averaged WERs would differ by 0.094); the interval is the t-interval of the
    error differences (3, -1, 1) over the mean length of 20 words."""
    def metrics(errors: list[int]) -> dict:
        return {"utterances": {f"u{i}": {"word_errors": e, "reference_words": w, "wer": e / w}
                               for i, (e, w) in enumerate(zip(errors, [10, 20, 30]))}}
    row = paired_difference(metrics([4, 0, 2]), metrics([1, 1, 1]), "wer")
    assert (row["mean"], row["n"]) == (pytest.approx(0.05), 3)
    assert row["ci95"] == pytest.approx(4.302653 * 2.0 / 20 / math.sqrt(3), rel=1e-6)


def _write(folder: Path, name: str, wav: np.ndarray, sr: int = SR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"{name}.wav", wav, sr)


def test_folders_report_missing_ids_and_evaluate_common(
    tmp_path: Path, speech: dict[str, np.ndarray]
) -> None:
    ref, syn = tmp_path / "ref", tmp_path / "syn"
    _write(ref, "u1", speech["a"])
    _write(ref, "u2", speech["b"])
    _write(syn, "u1", speech["a"])
    _write(syn, "extra", speech["a"])
    with pytest.warns(UserWarning) as record:
        result = evaluate_folders(ref, syn, FAST, workers=1, progress=False)
    messages = " ".join(str(w.message) for w in record)
    assert "extra" in messages and "u2" in messages
    assert result["missing_in_reference"] == ["extra"]
    assert result["missing_in_synthesized"] == ["u2"]
    assert list(result["utterances"]) == ["u1"]
    assert result["counts"]["evaluated"] == 1
    assert result["summary"]["mcd_db"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert result["settings"]["mcep_order"] == 34


def test_folders_without_common_ids_fail(tmp_path: Path, speech: dict[str, np.ndarray]) -> None:
    _write(tmp_path / "ref", "LJ001-0001", speech["a"])
    _write(tmp_path / "syn", "utt1", speech["a"])
    with pytest.raises(UserInputError, match="no utterance id is in both"):
        evaluate_folders(tmp_path / "ref", tmp_path / "syn", FAST, workers=1, progress=False)


def test_missing_or_empty_folders_fail(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        evaluate_folders(tmp_path / "nowhere", tmp_path / "empty", FAST, progress=False)
    with pytest.raises(UserInputError, match="no .wav files"):
        evaluate_folders(tmp_path / "empty", tmp_path / "empty", FAST, progress=False)


def test_other_sample_rate_is_resampled_with_warning(
    tmp_path: Path, speech: dict[str, np.ndarray]
) -> None:
    _write(tmp_path / "ref", "u1", speech["a"])
    _write(tmp_path / "syn", "u1", librosa.resample(speech["a"], orig_sr=SR, target_sr=44100),
           sr=44100)
    with pytest.warns(UserWarning, match="synthesized files at 44100 Hz were resampled"):
        result = evaluate_folders(tmp_path / "ref", tmp_path / "syn", FAST, progress=False)
    metrics = result["utterances"]["u1"]
    assert metrics["duration_ratio"] == pytest.approx(1.0, abs=0.01)
    assert metrics["mcd_db"] < 3.0  # vs ~10 dB for another text; near-silent frames are touchy


def test_corrupt_files_are_listed_then_fatal_when_nothing_is_left(
    tmp_path: Path, speech: dict[str, np.ndarray]
) -> None:
    ref, syn = tmp_path / "ref", tmp_path / "syn"
    for name in ("good", "bad", "silent"):
        _write(ref, name, speech["a"])
    _write(syn, "good", speech["a"])
    (syn / "bad.wav").write_bytes(b"RIFF not really a wave file")
    _write(syn, "silent", np.zeros(SR))
    with pytest.warns(UserWarning, match="2 utterances could not be evaluated"):
        result = evaluate_folders(ref, syn, FAST, workers=2, progress=False)
    assert sorted(result["failed"]) == ["bad", "silent"]
    assert "silent" in result["failed"]["silent"]
    assert list(result["utterances"]) == ["good"]

    (syn / "good.wav").unlink()
    with pytest.warns(UserWarning), pytest.raises(UserInputError, match="could be evaluated"):
        evaluate_folders(ref, syn, FAST, workers=1, progress=False)


def _cli_args(**overrides: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    evaluate_command.add_arguments(parser)
    args = parser.parse_args(["--reference", "r", "--synthesized", "s"])
    vars(args).update(overrides)
    return args


def test_cli_writes_json_and_markdown(
    tmp_path: Path, speech: dict[str, np.ndarray], capsys: pytest.CaptureFixture
) -> None:
    _write(tmp_path / "ref", "u1", speech["a"])
    _write(tmp_path / "syn", "u1", speech["a"])
    out = tmp_path / "eval" / "metrics.json"
    args = _cli_args(reference=tmp_path / "ref", synthesized=tmp_path / "syn", out=out,
                     f0_method="dio", no_progress=True)
    assert evaluate_command.run(args) == 0
    result = json.loads(out.read_text())
    assert result["summary"]["mcd_db"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert "| mcd_db |" in out.with_suffix(".md").read_text()
    assert "wrote" in capsys.readouterr().out


def test_cli_whisper_needs_text_file() -> None:
    with pytest.raises(UserInputError, match="--text-file"):
        evaluate_command.run(_cli_args(whisper=True))


# --- Robust F0 metrics: gross pitch error rate and fine log-F0 RMSE (issue 15 item 4) ---


def test_gross_pitch_errors_on_planted_f0_tracks() -> None:
    ref = np.full(100, 200.0)
    syn = ref.copy()
    syn[10:20] *= 2.0  # octave up: gross
    syn[30:35] /= 2.0  # octave down: gross as well (a "differs by 50 %" rule would miss it)
    syn[50:60] *= 2 ** (100 / 1200)  # a semitone: fine
    syn[60:62] *= 2 ** (599 / 1200)  # just under half an octave: fine
    syn[90:] = 0.0  # unvoiced in the synthesis: in neither metric
    ref[80:85] = 0.0  # unvoiced in the reference: in neither metric
    path = (np.arange(100), np.arange(100))
    voiced_both = 85
    assert gross_pitch_error_rate(ref, syn, path) == pytest.approx(15 / voiced_both)
    fine = math.sqrt((10 * 100**2 + 2 * 599**2) / (voiced_both - 15))
    assert fine_log_f0_rmse_cents(ref, syn, path) == pytest.approx(fine)
    whole = math.sqrt((15 * 1200**2 + 10 * 100**2 + 2 * 599**2) / voiced_both)
    assert log_f0_rmse_cents(ref, syn, path) == pytest.approx(whole)
    assert gross_pitch_error_rate(ref, syn, path, threshold_cents=1300.0) == 0.0
    unvoiced = np.zeros(100)
    assert gross_pitch_error_rate(ref, unvoiced, path) is None
    assert fine_log_f0_rmse_cents(ref, unvoiced, path) is None


def _harmonic_track(f0_hz: np.ndarray) -> np.ndarray:
    """Seven harmonics (1/k amplitudes) following a per-sample F0, phase-continuous."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    wav = sum(np.sin(k * phase) / k for k in range(1, 8))
    return 0.3 * wav / np.abs(wav).max()


def test_planted_octave_jump_is_a_gross_error_not_a_fine_one() -> None:
    f0 = np.full(2 * SR, 150.0)
    jumped = f0.copy()
    jumped[SR // 2 : SR] *= 2.0  # an octave up on a quarter of the frames
    metrics = compare(_harmonic_track(f0), _harmonic_track(jumped))  # default: harvest
    # measured 0.240 (harvest takes a frame or two to follow each jump), fine 13.7 cents
    assert metrics["gross_pitch_error_rate"] == pytest.approx(0.25, abs=0.03)
    assert metrics["fine_log_f0_rmse_cents"] < 30.0
    assert metrics["log_f0_rmse_cents"] > 500.0  # 1200 * sqrt(0.25) = 600: the jumps dominate it


def test_reference_features_are_cached_with_identical_scores(
    tmp_path: Path, speech: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, syn, cache = tmp_path / "ref", tmp_path / "syn", tmp_path / "features"
    _write(ref, "u1", speech["a"])
    _write(syn, "u1", 0.7 * speech["b"][: speech["a"].size])
    plain = evaluate_folders(ref, syn, FAST, workers=1, progress=False)
    first = evaluate_folders(ref, syn, FAST, workers=1, progress=False, reference_features=cache)
    assert first["utterances"] == plain["utterances"]
    assert len(list(cache.glob("*/u1.npz"))) == 1

    extracted = []
    real = feature_cache.extract_features
    monkeypatch.setattr(feature_cache, "extract_features",
                        lambda wav, settings: extracted.append(1) or real(wav, settings))
    again = evaluate_folders(ref, syn, FAST, workers=1, progress=False, reference_features=cache)
    assert again["utterances"] == plain["utterances"] and extracted == []  # read, not extracted

    harvest = evaluate_folders(ref, syn, MetricSettings(), workers=1, progress=False,
                               reference_features=cache)  # other settings: another key
    assert extracted == [1] and len(list(cache.glob("*/u1.npz"))) == 2
    assert harvest["settings"]["f0_method"] == "harvest"

    _write(ref, "u1", speech["b"])  # the recording changed: extracted again, new scores
    changed = evaluate_folders(ref, syn, FAST, workers=1, progress=False,
                               reference_features=cache)
    assert extracted == [1, 1]
    assert changed["utterances"]["u1"]["mcd_db"] != plain["utterances"]["u1"]["mcd_db"]

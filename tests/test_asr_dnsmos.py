"""Offline judges: pocketsphinx WER and DNSMOS on real LJSpeech recordings against noise and a sine,
WER text normalisation and corpus WER arithmetic, and `tts-ebm evaluate` with both judges."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.audio import load_audio
from tts_ebm.commands import evaluate as evaluate_command
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import asr, dnsmos, metric_table
from tts_ebm.evaluation.metric_table import Source
from tts_ebm.evaluation.neural import read_texts
from tts_ebm.statistics import corpus_wer

CLIPS = Path(__file__).parent / "data" / "ljspeech"
SR = asr.SAMPLE_RATE


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return read_texts(CLIPS / "text.psv")


@pytest.fixture(scope="module")
def signals(texts: dict[str, str]) -> dict[str, np.ndarray]:
    """The two recordings at 16 kHz (read as `tts-ebm evaluate` reads them), white noise and a
    220 Hz sine (2.5 s each: one DNSMOS window)."""
    with warnings.catch_warnings():  # the resampling warning
        warnings.simplefilter("ignore")
        waves = {i: load_audio(CLIPS / f"{i}.flac", target_sr=SR) for i in texts}
    t = np.arange(int(2.5 * SR)) / SR
    waves["noise"] = 0.1 * np.random.default_rng(0).standard_normal(t.size)
    waves["sine"] = 0.3 * np.sin(2 * np.pi * 220.0 * t)
    return waves


@pytest.fixture(scope="module")
def transcripts(signals: dict[str, np.ndarray]) -> dict[str, str]:
    return {name: asr.transcribe(wav) for name, wav in signals.items()}


@pytest.fixture(scope="module")
def mos(signals: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {name: dnsmos.dnsmos_scores(wav) for name, wav in signals.items()}


def test_pocketsphinx_understands_real_speech(
    texts: dict[str, str], transcripts: dict[str, str]
) -> None:
    counts = [asr.word_errors(texts[i], transcripts[i]) for i in texts]
    wer = corpus_wer([c["word_errors"] for c in counts], [c["reference_words"] for c in counts])
    assert wer["reference_words"] == 34
    assert 0.05 < wer["mean"] < 0.5  # measured 9/34 = 0.265: a weak recogniser, but not deaf
    assert "monastery" in transcripts["LJ001-0031"]


def test_noise_and_sine_are_unintelligible(
    texts: dict[str, str], transcripts: dict[str, str]
) -> None:
    reference = texts["LJ001-0031"]
    for name in ("noise", "sine"):
        assert asr.word_errors(reference, transcripts[name])["wer"] >= 0.9, transcripts[name]


def test_dnsmos_prefers_speech_to_noise_and_sine(mos: dict[str, dict[str, float]]) -> None:
    for utt_id in ("LJ001-0031", "LJ001-0032"):
        assert set(mos[utt_id]) == set(metric_table.keys(Source.DNSMOS))
        assert mos[utt_id]["dnsmos_p808"] > 3.0  # measured 3.97 and 4.08
        assert mos[utt_id]["dnsmos_ovrl"] > 2.8  # measured 3.36 and 3.42
    for name in ("noise", "sine"):  # measured P.808 2.13 and 2.26, OVRL 1.12 and 0.96
        assert mos[name]["dnsmos_p808"] < 2.6
        assert mos[name]["dnsmos_ovrl"] < 1.8


def test_p808_alone_is_the_same_p808(
    signals: dict[str, np.ndarray], mos: dict[str, dict[str, float]]
) -> None:
    """The cheap path scores the same windows: short clips (tiled) and long ones (several)."""
    speech = signals["LJ001-0031"]
    clips = {**signals, "long": np.concatenate([speech, speech, speech])[: 12 * 16000]}
    full = {**mos, "long": dnsmos.dnsmos_scores(clips["long"])}
    for name, wav in clips.items():
        assert dnsmos.dnsmos_scores(wav, p835=False) == {"dnsmos_p808": full[name]["dnsmos_p808"]}
    assert len(dnsmos._windows(clips["long"])) == 3 and len(dnsmos._windows(speech)) >= 1


def test_dnsmos_scores_are_deterministic(signals: dict[str, np.ndarray]) -> None:
    assert dnsmos.dnsmos_scores(signals["noise"]) == dnsmos.dnsmos_scores(signals["noise"])


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Mr. Smith paid $5.", "mister smith paid five dollars"),
        ("In fourteen sixty-five, near Rome,", "in fourteen sixty five near rome"),
        ('He said: "don\'t" -- twice, in 1844!', "he said don't twice in eighteen forty four"),
        ("The 3rd of 10 -- 50% 'quoted'", "the third of ten fifty percent quoted"),
        ("  UPPER\tcase\n", "upper case"),
    ],
)
def test_wer_normalisation(text: str, normalised: str) -> None:
    assert asr.normalize_for_wer(text) == normalised


def test_word_errors_count_substitutions_deletions_insertions() -> None:
    # "b" deleted, "d" and "e" inserted (or two substitutions and one insertion): 3 edits
    assert asr.word_errors("a b c", "a c d e") | {"asr_hypothesis": None} == {
        "wer": 1.0, "word_errors": 3, "reference_words": 3, "asr_hypothesis": None,
    }
    # normalisation makes these the same words: no error
    assert asr.word_errors("Mr. Smith paid $5.", "mister smith paid five dollars")["wer"] == 0.0
    empty = asr.word_errors("...", "hello")
    assert empty["wer"] is None and empty["reference_words"] == 0


def test_corpus_wer_is_errors_over_words() -> None:
    # utterance WERs 1/3, 2/4, 0/5; corpus 3/12; delta-method se = sqrt(1.5 * 2.625) / 12
    result = corpus_wer([1, 2, 0, 4], [3, 4, 5, 0])  # the 0-word utterance is left out
    assert result["mean"] == pytest.approx(0.25)
    assert result["n"] == 3
    assert (result["word_errors"], result["reference_words"]) == (3, 12)
    assert result["utterance_mean"] == pytest.approx((1 / 3 + 1 / 2 + 0) / 3)
    assert result["ci95"] == pytest.approx(4.302653 * math.sqrt(1.5 * 2.625) / 12, rel=1e-5)
    assert corpus_wer([], [])["mean"] is None


def _evaluate_args(**overrides: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    evaluate_command.add_arguments(parser)
    args = parser.parse_args(["--synthesized", "x", "--workers", "1", "--no-progress",
                              "--f0-method", "dio"])
    return argparse.Namespace(**(vars(args) | overrides))


@pytest.fixture(scope="module")
def wav_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One recording as <id>.wav (one keeps the CLI tests short; the judges are tested above)."""
    folder = tmp_path_factory.mktemp("recordings")
    wav, sr = sf.read(CLIPS / "LJ001-0032.flac")
    sf.write(folder / "LJ001-0032.wav", wav, sr, subtype="PCM_16")
    return folder


def test_folder_against_itself_scores_the_recogniser_not_zero(
    tmp_path: Path, wav_folder: Path, transcripts: dict[str, str]
) -> None:
    out = tmp_path / "self.json"
    args = _evaluate_args(reference=wav_folder, synthesized=wav_folder,
                          text_file=CLIPS / "text.psv", out=out)
    assert evaluate_command.run(args) == 0
    result = json.loads(out.read_text())
    summary = result["summary"]
    for name in ("mcd_db", "log_f0_rmse_cents", "gross_pitch_error_rate",
                 "fine_log_f0_rmse_cents", "vuv_error_rate"):
        assert summary[name]["mean"] == pytest.approx(0.0, abs=1e-9), name
    # pocketsphinx's own errors on the recording (measured 2 of 18 words), not 0
    assert 0 < summary["wer"]["word_errors"] <= 6 and summary["wer"]["reference_words"] == 18
    assert summary["dnsmos_p808"]["mean"] > 3.0 and summary["dnsmos_p808"]["n"] == 1
    utterance = result["utterances"]["LJ001-0032"]
    # the same decoder on the same samples: the same words
    assert utterance["asr_hypothesis"] == asr.normalize_for_wer(transcripts["LJ001-0032"])
    assert "wer_text_normalization" in result["settings"] and "dnsmos" in result["settings"]
    markdown = out.with_suffix(".md").read_text()
    assert "| wer |" in markdown and "| dnsmos_p808 |" in markdown and "corpus WER" in markdown


def test_dnsmos_models_p808_leaves_out_p835_only(
    tmp_path: Path, wav_folder: Path, mos: dict[str, dict[str, float]]
) -> None:
    out = tmp_path / "p808.json"
    args = _evaluate_args(synthesized=wav_folder, out=out, no_wer=True, dnsmos_models="p808")
    assert evaluate_command.run(args) == 0
    result = json.loads(out.read_text())
    assert set(result["utterances"]["LJ001-0032"]) == {"dnsmos_p808", "distill_mos"}
    assert result["summary"]["dnsmos_p808"]["mean"] == pytest.approx(
        mos["LJ001-0032"]["dnsmos_p808"], abs=1e-3)  # the wav is 16-bit, the fixture float
    assert result["settings"]["dnsmos_models"] == "p808"


def test_without_reference_only_the_judges_run(tmp_path: Path, wav_folder: Path) -> None:
    out = tmp_path / "recordings.json"
    args = _evaluate_args(reference=None, synthesized=wav_folder,
                          text_file=CLIPS / "text.psv", out=out, no_dnsmos=True,
                          no_distill_mos=True)
    assert evaluate_command.run(args) == 0
    result = json.loads(out.read_text())
    assert list(result["summary"]) == ["wer"]
    assert set(result["utterances"]["LJ001-0032"]) == {
        "wer", "word_errors", "reference_words", "asr_hypothesis"
    }
    assert result["reference_dir"] is None and result["counts"]["reference"] == 0
    assert "dnsmos" not in result["settings"] and "distill_mos" not in result["settings"]
    assert "reference: none" in out.with_suffix(".md").read_text()


def test_no_wer_and_no_mos_judge_without_reference_is_refused(
    tmp_path: Path, wav_folder: Path
) -> None:
    args = _evaluate_args(reference=None, synthesized=wav_folder,
                          text_file=CLIPS / "text.psv", out=tmp_path / "m.json",
                          no_dnsmos=True, no_wer=True, no_distill_mos=True)
    with pytest.raises(UserInputError, match="nothing to compute"):
        evaluate_command.run(args)


def test_text_file_without_matching_ids_is_refused(tmp_path: Path, wav_folder: Path) -> None:
    text_file = tmp_path / "other.txt"
    text_file.write_text("LJ999-0001|some other text\n")
    args = _evaluate_args(reference=None, synthesized=wav_folder, text_file=text_file,
                          out=tmp_path / "m.json", no_dnsmos=True)
    with pytest.raises(UserInputError, match="no utterance .* has a text"):
        evaluate_command.run(args)

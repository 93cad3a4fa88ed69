"""Export of blind listening tests from real (espeak-ng) speech."""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import warnings
from pathlib import Path

import librosa
import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import yaml

from tts_ebm.commands import export_listening_test as command
from tts_ebm.errors import UserInputError
from tts_ebm.listening import stimuli
from tts_ebm.listening.collect import build_conditions, parse_named_dirs
from tts_ebm.listening.export import ExportOptions, export_listening_test

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

SENTENCES = {
    "LJ901-0001": "Good morning.",
    "LJ901-0002": "It is raining.",
    "LJ901-0003": "Thank you.",
}
SYSTEMS = {"ebm_delta": ("en-us", "50"), "ebm_nce": ("en-gb", "80")}
TARGET = -23.0


def _speak(path: Path, text: str, voice: str, pitch: str, rate: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["espeak-ng", "-v", voice, "-p", pitch, "-w", str(path), text], check=True)
    if rate:  # store at another sample rate to exercise resampling
        audio, sr = sf.read(path)
        sf.write(path, librosa.resample(audio, orig_sr=sr, target_sr=rate), rate, subtype="PCM_16")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """reference/ + two systems; ebm_nce is at 16 kHz and lacks one extra utterance."""
    root = tmp_path_factory.mktemp("speech")
    for utt, text in SENTENCES.items():
        _speak(root / "reference" / f"{utt}.wav", text, "en", "40")
        for name, (voice, pitch) in SYSTEMS.items():
            _speak(
                root / name / f"{utt}.wav", text, voice, pitch, 16000 if name == "ebm_nce" else None
            )
    _speak(root / "ebm_delta" / "LJ901-0099.wav", "Extra.", "en-us", "50")
    _speak(root / "reference" / "LJ901-0099.wav", "Extra.", "en", "40")
    return root


def _conditions(root: Path, reference: bool = True):
    return build_conditions(
        {n: root / n for n in SYSTEMS}, root / "reference" if reference else None, {}
    )


@pytest.fixture(scope="module")
def mushra(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("mushra") / "test"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        report = export_listening_test(
            _conditions(corpus), ExportOptions(out=out, format="webmushra-mushra", seed=3)
        )
    return out, report


def _key(out: Path) -> list[dict[str, str]]:
    with open(out / "key.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _secrets() -> list[str]:
    """System names and utterance ids ("reference" is a webMUSHRA key, so not a secret)."""
    return [*SYSTEMS, *SENTENCES, "LJ901"]


def _listener_visible(out: Path) -> list[Path]:
    served = out / "webmushra" if (out / "webmushra").exists() else out / "stimuli"
    return [p for p in served.rglob("*") if p.is_file()] + [out / "manifest.csv"]


def test_nothing_listeners_see_names_a_system_or_utterance(mushra):
    out, _ = mushra
    visible = _listener_visible(out)
    assert any(p.suffix == ".yaml" for p in visible)
    for path in visible:
        texts = [path.name] + ([path.read_text()] if path.suffix in (".yaml", ".csv") else [])
        for text in texts:
            for secret in _secrets():
                assert secret not in text, f"{secret!r} leaks through {path}"
    assert not (out / "webmushra" / "key.csv").exists() and (out / "key.csv").exists()


def test_missing_and_resampled_inputs_are_reported(mushra, corpus):
    _, report = mushra
    assert report.missing == {"ebm_nce": ["LJ901-0099"]}
    assert report.utterance_ids == sorted(SENTENCES)
    resampled = {Path(p).parent.name for p in report.resampled}
    assert resampled == {"ebm_nce"} and set(report.resampled.values()) == {16000}


def _similarity(stimulus: np.ndarray, source: np.ndarray) -> float:
    """Normalised correlation over the common length: independent of gain and padding."""
    n = min(len(source), len(stimulus))
    a, b = stimulus[:n], source[:n]
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_key_maps_every_stimulus_back_to_its_source(mushra, corpus):
    """Normalised correlation with every source: the keyed one must be the clear best match."""
    out, _ = mushra
    key = _key(out)
    assert len(key) == 3 * len(SENTENCES)
    audio_dir = next((out / "webmushra" / "configs" / "resources" / "audio").iterdir())

    def load(path: Path) -> np.ndarray:
        audio, rate = sf.read(path)
        return librosa.resample(audio, orig_sr=rate, target_sr=22050)

    sources = {
        (cond, utt): load(corpus / cond / f"{utt}.wav")
        for cond in [*SYSTEMS, "reference"]
        for utt in SENTENCES
    }
    for row in key:
        stimulus = sf.read(audio_dir / f"{row['stimulus_id']}.wav")[0][:, 0]

        scores = {k: _similarity(stimulus, v) for k, v in sources.items()}
        best = max(scores, key=scores.get)
        assert best == (row["system"], row["utterance_id"]), row
        assert scores[best] > 0.98


def test_every_stimulus_is_at_the_target_loudness(mushra):
    out, report = mushra
    meter = pyloudnorm.Meter(22050)
    files = list((out / "webmushra").rglob("*.wav"))
    assert len(files) == report.n_stimuli == 9
    for path in files:
        audio, rate = sf.read(path)
        assert rate == 22050
        assert abs(meter.integrated_loudness(audio) - TARGET) <= 0.5, path
        assert np.max(np.abs(audio)) <= stimuli.PEAK_CEILING + 1e-4


def test_mushra_pages_share_length_rate_and_dual_mono_channels(mushra):
    out, _ = mushra
    web = out / "webmushra"
    config = yaml.safe_load(next((web / "configs").glob("*.yaml")).read_text())
    assert {
        "testname",
        "testId",
        "bufferSize",
        "stopOnErrors",
        "showButtonPreviousPage",
        "remoteService",
        "pages",
    } <= config.keys()
    assert config["pages"][-1]["type"] == "finish"
    trials = config["pages"][1]
    assert trials[0] == "random" and len(trials) == 1 + len(SENTENCES)
    page_ids = {row["page"] for row in _key(out)}
    for page in trials[1:]:
        assert page["type"] == "mushra" and page["id"] in page_ids
        assert {
            "id",
            "name",
            "content",
            "showWaveform",
            "enableLooping",
            "reference",
            "createAnchor35",
            "createAnchor70",
            "stimuli",
        } <= page.keys()
        assert page["createAnchor35"] is True and len(page["stimuli"]) == len(SYSTEMS)
        infos = [sf.info(web / p) for p in [page["reference"], *page["stimuli"].values()]]
        assert {(i.frames, i.samplerate, i.channels, i.subtype) for i in infos} == {
            (infos[0].frames, 22050, 2, "PCM_16")
        }
        for path in page["stimuli"].values():
            audio = sf.read(web / path)[0]
            assert np.array_equal(audio[:, 0], audio[:, 1])


def test_mos_export_writes_likert_pages(corpus, tmp_path, mushra):
    out = tmp_path / "mos"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_listening_test(
            _conditions(corpus, reference=False),
            ExportOptions(out=out, format="webmushra-mos", test_id="My MOS!"),
        )
    config = yaml.safe_load((out / "webmushra" / "configs" / "my-mos.yaml").read_text())
    assert config["testId"] == "my-mos"
    page = config["pages"][1]
    assert page["type"] == "likert_single_stimulus"
    assert [(r["value"], r["label"]) for r in page["response"]] == [
        (1, "Bad"),
        (2, "Poor"),
        (3, "Fair"),
        (4, "Good"),
        (5, "Excellent"),
    ]
    key = _key(out)
    assert set(page["stimuli"]) == {r["stimulus_id"] for r in key}
    assert len(key) == len(SYSTEMS) * len(SENTENCES)
    other_ids = {row["stimulus_id"] for row in _key(mushra[0])}
    assert not other_ids & {r["stimulus_id"] for r in key}, "two exports must not share ids"


def test_csv_export_via_command(corpus, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"{k}|{v}\n" for k, v in SENTENCES.items()))
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        [
            "--system",
            f"ebm_delta={corpus / 'ebm_delta'}",
            "--system",
            f"ebm_nce={corpus / 'ebm_nce'}",
            "--out",
            str(tmp_path / "crowd"),
            "--format",
            "csv",
            "--texts",
            str(texts),
            "--base-url",
            "https://example.org/t/",
            "--n-utterances",
            "2",
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert command.run(args) == 0
    with open(tmp_path / "crowd" / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    key = {r["stimulus_id"]: r for r in _key(tmp_path / "crowd")}
    assert len(rows) == 4 and set(key) == {r["stimulus_id"] for r in rows}
    for row in rows:
        assert row["url"] == f"https://example.org/t/{row['stimulus_id']}.wav"
        assert row["text"] == SENTENCES[key[row["stimulus_id"]]["utterance_id"]]
        assert sf.info(tmp_path / "crowd" / "stimuli" / f"{row['stimulus_id']}.wav").channels == 1


def test_too_many_mushra_conditions_is_an_error(corpus, tmp_path):
    systems = {f"sys{i}": corpus / "ebm_delta" for i in range(10)}  # 10 + ref + 2 anchors = 13
    conditions = build_conditions(systems, corpus / "reference", {})
    with pytest.raises(UserInputError, match="13 rated conditions"):
        export_listening_test(
            conditions, ExportOptions(out=tmp_path / "x", format="webmushra-mushra")
        )
    with pytest.raises(UserInputError, match="needs --reference"):
        export_listening_test(
            _conditions(corpus, reference=False),
            ExportOptions(out=tmp_path / "y", format="webmushra-mushra"),
        )


@pytest.mark.filterwarnings("ignore:b lacks 1 utterance")
def test_silent_source_is_an_error_naming_it_and_clipping_warns(corpus, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(corpus / "ebm_delta", bad)
    sf.write(bad / "LJ901-0002.wav", np.zeros(22050), 22050, subtype="PCM_16")
    conditions = build_conditions({"a": bad, "b": corpus / "ebm_nce"}, None, {})
    with pytest.raises(UserInputError, match="silent.*LJ901-0002.wav"):
        export_listening_test(conditions, ExportOptions(out=tmp_path / "o1", format="csv"))

    clipped = tmp_path / "clipped"
    shutil.copytree(corpus / "ebm_delta", clipped)
    audio, rate = sf.read(clipped / "LJ901-0001.wav")
    sf.write(clipped / "LJ901-0001.wav", np.clip(audio * 20, -1, 1), rate, subtype="PCM_16")
    conditions = build_conditions({"a": clipped, "b": corpus / "ebm_nce"}, None, {})
    with pytest.warns(UserWarning, match="clipped.*LJ901-0001.wav"):
        report = export_listening_test(conditions, ExportOptions(out=tmp_path / "o2", format="csv"))
    assert [Path(p).name for p in report.clipped] == ["LJ901-0001.wav"]


def test_no_common_utterance_and_bad_names(tmp_path, corpus):
    lonely = tmp_path / "lonely"
    _speak(lonely / "other.wav", "Hello.", "en", "50")
    conditions = build_conditions({"a": lonely, "b": corpus / "ebm_nce"}, None, {})
    with pytest.raises(UserInputError, match="no utterance id is present in every folder"):
        export_listening_test(conditions, ExportOptions(out=tmp_path / "o", format="csv"))
    with pytest.raises(UserInputError, match="NAME=DIR"):
        parse_named_dirs(["nodir"], "--system")


def test_limiter_keeps_peaks_under_ceiling_at_target_loudness():
    """A quiet tone with sharp clicks: plain gain would clip, the limiter must not."""
    rate = 22050
    t = np.arange(2 * rate) / rate
    audio = 0.05 * np.sin(2 * np.pi * 300 * t)
    audio[::4000] = 0.9
    result = stimuli.normalise_loudness(audio, rate, -16.0, Path("clicks.wav"))
    assert result.limited and result.within_tolerance
    assert np.max(np.abs(result.audio)) <= stimuli.PEAK_CEILING + 1e-9
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(result.audio) + 16.0) <= 0.5

"""Synthesis end to end with a tiny trained checkpoint: lengths, seeds, batching, CLI, bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import soundfile as sf
import torch

import vocoder
from tts_ebm import Synthesizer, synthesize
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.synthesis import PAUSE_SECONDS
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig
from vocoder.hifigan import Generator, HiFiGANConfig, HiFiGANVocoder

TEXTS = ["The birch canoe slid.", "Glue the sheet to it."]


@pytest.fixture(autouse=True)
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network: the Hub is offline and its cache empty."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint) -> Path:
    """A tiny model trained for a few steps on random mels, saved in the checkpoint format."""
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.ckpt", TEXTS)


@pytest.fixture(scope="module")
def synth(checkpoint: Path) -> Synthesizer:
    torch.manual_seed(1)  # a very small random HiFi-GAN: fast, and exercises the real code path
    config = HiFiGANConfig("2", (8, 8, 4), (16, 16, 8), 32, (3,), ((1, 2),))
    voc = HiFiGANVocoder(Generator(config), torch.device("cpu"))
    return Synthesizer(checkpoint, vocoder=voc, device="cpu")


@pytest.fixture(scope="module")
def gl_synth(checkpoint: Path) -> Synthesizer:
    return Synthesizer(checkpoint, vocoder="griffin-lim", device="cpu")


def test_length_is_durations_times_hop_plus_pauses(synth: Synthesizer) -> None:
    text = " ".join(TEXTS)  # two sentences, joined with one pause
    utterance, single = synth.synthesize_utterances([text, TEXTS[0]], steps=1, seed=0)
    assert utterance.waveform.dtype == np.float32 and np.isfinite(utterance.waveform).all()
    assert len(utterance.sentences) == 2
    frames = sum(int(d.sum()) for d in utterance.durations)
    pause = round(PAUSE_SECONDS * 22050 / 256) * 256
    assert len(utterance.waveform) == frames * 256 + pause
    assert utterance.mel.shape == (80, len(utterance.waveform) // 256)
    assert len(single.waveform) == int(single.durations[0].sum()) * 256


def test_seed_reproducibility_and_batching(synth: Synthesizer) -> None:
    a = synth.synthesize(TEXTS[0], steps=1, seed=3, temperature=1.0)
    b = synth.synthesize(TEXTS[0], steps=1, seed=3, temperature=1.0)
    c = synth.synthesize(TEXTS[0], steps=1, seed=4, temperature=1.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    batch = synth.synthesize(TEXTS, steps=1, seed=3)
    assert isinstance(batch, list) and len(batch) == 2
    assert all(w.dtype == np.float32 and np.isfinite(w).all() for w in batch)
    slow = synth.synthesize_utterances([TEXTS[0]], steps=0, length_scale=2.0, seed=0)[0]
    fast = synth.synthesize_utterances([TEXTS[0]], steps=0, length_scale=1.0, seed=0)[0]
    assert slow.durations[0].sum() > fast.durations[0].sum()


def test_sampler_defaults_come_from_the_checkpoint(synth: Synthesizer) -> None:
    sampler = synth.build_sampler()
    assert (sampler.steps, sampler.temperature) == (2, 0.5)
    sampler = synth.build_sampler(steps=7, n_candidates=2)
    assert (sampler.steps, sampler.temperature, sampler.n_candidates) == (7, 0.5, 2)
    assert synth.build_sampler(sampler="langevin").temperature == 1.0  # another sampler: its defaults
    assert np.isfinite(synth.synthesize(TEXTS[0], steps=1, n_candidates=2, seed=0)).all()


def test_long_text_is_chunked_not_truncated(synth: Synthesizer) -> None:
    long_text = " ".join(["One more time."] * 17)  # more sentences than one batch holds
    (utterance,) = synth.synthesize_utterances([long_text], steps=0, seed=0)
    assert len(utterance.sentences) == 17
    assert len(utterance.waveform) == sum(int(d.sum()) for d in utterance.durations) * 256 + (
        16 * round(PAUSE_SECONDS * 22050 / 256) * 256)


@pytest.mark.parametrize(("text", "message"), [("", "empty"), ("   ", "empty"),
                                                ("... !!! ,,,", "nothing speakable")])
def test_bad_text(synth: Synthesizer, text: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        synth.synthesize(text)


def test_nan_mel_is_a_clear_error(gl_synth: Synthesizer, tmp_path: Path) -> None:
    std = gl_synth.bundle.mel_std.clone()
    gl_synth.bundle.mel_std.fill_(float("nan"))
    try:
        with pytest.raises(UserInputError, match="NaN"):
            gl_synth.to_file(TEXTS[0], tmp_path / "x.wav", steps=0)
    finally:
        gl_synth.bundle.mel_std.copy_(std)
    assert list(tmp_path.iterdir()) == []


def test_synthesize_function_and_to_file(checkpoint: Path, gl_synth: Synthesizer,
                                         tmp_path: Path) -> None:
    wav, sr = synthesize(TEXTS[0], checkpoint, vocoder="griffin-lim", steps=1, seed=0,
                         device="cpu")
    assert sr == 22050 and wav.dtype == np.float32 and np.isfinite(wav).all()
    path = gl_synth.to_file(TEXTS[0], tmp_path / "out" / "a.wav", steps=1, seed=0)
    data, rate = sf.read(path, dtype="float32")
    assert rate == 22050 and sf.info(path).subtype == "PCM_16"
    assert np.abs(data - wav).max() < 1e-3  # same seed, same audio, 16-bit quantised
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.wav"]


def test_bad_checkpoints(tmp_path: Path, checkpoint: Path) -> None:
    with pytest.raises(UserInputError, match="not found"):
        Synthesizer(tmp_path / "missing.ckpt", vocoder="griffin-lim")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(UserInputError, match="truncated"):
        Synthesizer(truncated, vocoder="griffin-lim")
    old = torch.load(checkpoint, weights_only=True)
    old["tts_ebm"]["format_version"] = 999
    torch.save(old, tmp_path / "future.ckpt")
    with pytest.raises(UserInputError, match="not supported"):
        Synthesizer(tmp_path / "future.ckpt", vocoder="griffin-lim")


def test_explicit_unavailable_vocoder_fails(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="vocoder checkpoint not found"):
        Synthesizer(checkpoint, vocoder=str(tmp_path / "nope.bin"), device="cpu")


def test_cli_text_file_writes_wavs_mels_and_rtf(checkpoint: Path, tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text(f"LJ001-0001|{TEXTS[0]}\n\n{TEXTS[1]}\n", encoding="utf-8")
    out = tmp_path / "synth"
    code = main(["synthesize", "--checkpoint", str(checkpoint), "--text-file", str(lines),
                 "--out", str(out), "--vocoder", "griffin-lim", "--steps", "2", "--seed", "0",
                 "--save-mel", "--device", "cpu"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["LJ001-0001.npy", "LJ001-0001.png", "LJ001-0001.wav",
                     "line0003.npy", "line0003.png", "line0003.wav", "rtf.json"]
    info = sf.info(out / "LJ001-0001.wav")
    mel = np.load(out / "LJ001-0001.npy")
    assert info.subtype == "PCM_16" and info.frames == mel.shape[1] * 256 and mel.shape[0] == 80
    rtf = json.loads((out / "rtf.json").read_text())
    assert rtf["steps"] == 2 and rtf["n_utterances"] == 2 and rtf["rtf"] > 0
    assert rtf["acoustic_seconds"] > 0 and rtf["vocoder_seconds"] > 0  # timed apart, summing up
    assert rtf["acoustic_seconds"] + rtf["vocoder_seconds"] == pytest.approx(rtf["synth_seconds"])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_cli_files_respect_the_umask(checkpoint: Path, tmp_path: Path, umask: int,
                                     mode: int) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text(f"a|{TEXTS[0]}\n", encoding="utf-8")
    out = tmp_path / "synth"
    previous = os.umask(umask)
    try:
        assert main(["synthesize", "--checkpoint", str(checkpoint), "--text-file", str(lines),
                     "--out", str(out), "--vocoder", "griffin-lim", "--steps", "1",
                     "--save-mel", "--device", "cpu"]) == 0
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes == dict.fromkeys(["a.npy", "a.png", "a.wav", "rtf.json"], mode)


def test_cli_single_text_to_file(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.wav"
    assert main(["synthesize", "--checkpoint", str(checkpoint), "--text", TEXTS[0], "--out",
                 str(out), "--vocoder", "griffin-lim", "--steps", "1", "--device", "cpu"]) == 0
    assert sf.info(out).samplerate == 22050


def test_cli_threads_bound_torch_and_are_checked(checkpoint: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    base = ["synthesize", "--checkpoint", str(checkpoint), "--text", TEXTS[0], "--vocoder",
            "griffin-lim", "--steps", "1", "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "one.wav"), "--threads", "1"]) == 0
    assert calls == [1]
    assert main([*base, "--out", str(tmp_path / "two.wav"), "--threads", "0"]) == 2
    assert calls == [1] and not (tmp_path / "two.wav").exists()


def test_cli_bad_inputs_write_nothing(checkpoint: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "synth"
    base = ["synthesize", "--checkpoint", str(checkpoint), "--out", str(out), "--vocoder",
            "griffin-lim", "--device", "cpu"]
    assert main([*base, "--text", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{TEXTS[0]}\nok|...\n", encoding="utf-8")
    assert main([*base, "--text-file", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main([*base, "--text-file", str(tmp_path / "missing.txt")]) == 2
    assert main(["synthesize", "--checkpoint", str(checkpoint), "--out", str(out), "--vocoder",
                 "hf:nobody/none/x.bin", "--text", "hi", "--device", "cpu"]) == 2
    assert "hf:nobody/none/x.bin" in capsys.readouterr().err
    assert main([*base, "--text", "hi", "--steps", "two"]) == 2  # checked before loading
    assert "K (steps) must be an integer, got 'two'" in capsys.readouterr().err
    assert not out.exists()


def test_default_vocoder_offline_falls_back(checkpoint: Path, capsys) -> None:
    synth = Synthesizer(checkpoint, device="cpu")
    assert type(synth.vocoder).__name__ == "HiFiGANVocoder"  # the packaged hifigan-lj
    assert vocoder.DEFAULT_SPEC in capsys.readouterr().err


def test_vocoder_with_other_frame_rate_is_refused(checkpoint: Path) -> None:
    from types import SimpleNamespace

    with pytest.raises(UserInputError, match="16000 Hz with hop 200"):
        Synthesizer(checkpoint, vocoder=SimpleNamespace(sample_rate=16000, hop_length=200))


def test_kept_steps_join_sentences_like_the_mel(synth: Synthesizer) -> None:
    """Utterance.record: K + 1 energies (the sum over sentences), mu and per-step mels with the
    pauses of the final mel; its last state is the mel that was vocoded."""
    (utterance,) = synth.synthesize_utterances([" ".join(TEXTS)], steps=3, seed=0,
                                               keep_steps=True)
    record = utterance.record
    assert len(utterance.sentences) == 2 and record.energies.shape == (4,)
    assert record.states.shape == (4, *utterance.mel.shape) and record.mu.shape == utterance.mel.shape
    np.testing.assert_allclose(record.states[-1], utterance.mel, atol=1e-5)
    assert synth.synthesize_utterances([TEXTS[0]], steps=3)[0].record is None


def test_symbol_the_model_never_saw_is_an_error_naming_it(tmp_path: Path) -> None:
    """A Catalan model trained on one sentence: a word with new sounds is refused, the symbols
    named, even when the other sentence of the text is fine (never a silent drop)."""
    from tts_ebm.text import normalize_for, phonemize

    config = ExperimentConfig.from_dict({"model": {"preset": "tiny"}, "criterion": {"name": "delta"}})
    table = SymbolTable.from_phonemes(phonemize([normalize_for("Bon dia a tothom.", "ca")], "ca"))
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(table))
    payload = make_payload(config, table, [-5.0] * 80, [2.0] * 80, model.state_dict(), "ca")
    path = tmp_path / "ca.ckpt"
    torch.save({"tts_ebm": payload, "state_dict": {}}, path)
    synth = Synthesizer(path, vocoder="griffin-lim", device="cpu")
    assert synth.bundle.language == "ca" and synth.sentences("Bon dia.")
    with pytest.raises(UserInputError, match="'ɕ' \\(U\\+0255\\).*in text 'Xarxa de rius.'"):
        synth.sentences("Bon dia. Xarxa de rius.")

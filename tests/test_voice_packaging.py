"""`tts-ebm package-voice` makes a training checkpoint into a voice (EMA weights only, fp16,
its chosen sampler, a model card), and with no checkpoint given synthesis uses the shipped
default voice; both on a voice folder the test lays out itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tts_ebm import voices
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.synthesis import Synthesizer
from tts_ebm.training.checkpoint import read_checkpoint
from tts_ebm.voices.packaging import package_voice

CARD = "# slt: festival's slt voice, delta\n\nThe data and its licence.\n"


@pytest.fixture
def trained(tmp_path: Path, tiny_checkpoint) -> Path:
    """A tiny checkpoint carrying what a training checkpoint adds: AdamW state, the clock."""
    path = tiny_checkpoint(tmp_path / "train" / "last.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    weights = checkpoint["tts_ebm"]["ema_state_dict"]
    checkpoint["optimizer_states"] = [{"state": {i: {"exp_avg": v.clone(), "exp_avg_sq": v.clone()}
                                                 for i, v in enumerate(weights.values())}}]
    checkpoint["state_dict"] = {f"model.{k}": v.clone() for k, v in weights.items()}
    checkpoint["global_step"] = 16000
    checkpoint["callbacks"] = {"TrainingClock": {"cpu_seconds": 7200.0, "wall_seconds": 4000.0}}
    torch.save(checkpoint, path)
    return path


def test_a_voice_keeps_the_ema_weights_in_fp16_and_its_chosen_sampler(trained, tmp_path):
    chosen = tmp_path / "chosen.yaml"
    chosen.write_text("sampler: {steps: 3, step_size: 0.25, temperature: 0}\n")
    code = main(["package-voice", "--checkpoint", str(trained), "--card", _card(tmp_path),
                 "--sampler-config", str(chosen), "--out", str(tmp_path / "slt")])
    voice = tmp_path / "slt" / voices.CHECKPOINT_NAME
    assert code == 0 and voice.is_file()
    assert voice.stat().st_size < 0.2 * trained.stat().st_size  # no AdamW, no live copy, fp16
    stored = torch.load(voice, weights_only=True)
    assert set(stored) == {"tts_ebm", "global_step"}
    weights = stored["tts_ebm"]["ema_state_dict"]
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float16}
    assert stored["tts_ebm"]["config"]["sampler"] == {
        "name": "gd", "options": {"steps": 3, "temperature": 0, "step_size": 0.25}}
    sampler = Synthesizer(voice, vocoder="griffin-lim").build_sampler()
    assert (sampler.steps, sampler.step_size, sampler.temperature) == (3, 0.25, 0)
    card = (tmp_path / "slt" / voices.MODEL_CARD).read_text()
    assert card.startswith(CARD.rstrip())
    assert "| training steps | 16000 |" in card and "| training CPU-hours | 2.00 (wall 1.11 h) |" in card
    assert "(fp16)" in card and "sha256" in card


def test_fp16_changes_the_mel_by_rounding_only(trained, tmp_path):
    text = "Hello there, how are you today?"
    mels = {}
    for precision in ("fp32", "fp16"):
        voice = package_voice(trained, tmp_path / precision, CARD, precision=precision)
        synth = Synthesizer(voice, vocoder="griffin-lim")
        mels[precision] = synth.synthesize_utterances([text], seed=0)[0].mel
    reference = Synthesizer(trained, vocoder="griffin-lim").synthesize_utterances([text], seed=0)
    assert np.array_equal(mels["fp32"], reference[0].mel)
    difference = np.abs(mels["fp16"] - mels["fp32"]).max()
    assert 0 < difference < 0.05, difference


def test_a_card_without_a_headline_is_refused(trained, tmp_path):
    with pytest.raises(UserInputError, match="must start with a Markdown heading"):
        package_voice(trained, tmp_path / "v", "no heading here\n")
    assert not (tmp_path / "v" / voices.CHECKPOINT_NAME).exists()


def test_with_no_checkpoint_synthesis_speaks_with_the_default_voice(
        trained, tmp_path, monkeypatch):
    shipped = tmp_path / "package_voices"
    package_voice(trained, shipped / voices.DEFAULT_VOICE, CARD)
    monkeypatch.setattr(voices, "SHIPPED_DIR", shipped)
    assert read_checkpoint(None)["global_step"] == 16000
    out = tmp_path / "hello.wav"
    assert main(["synthesize", "--text", "Hello there.", "--out", str(out),
                 "--vocoder", "griffin-lim"]) == 0
    audio, rate = sf.read(out)
    assert rate == 22050 and len(audio) > 0.1 * rate  # an untrained tiny model: short


def test_with_no_checkpoint_and_no_shipped_voice_the_error_says_what_to_give(
        tmp_path, monkeypatch):
    monkeypatch.setattr(voices, "SHIPPED_DIR", tmp_path)
    with pytest.raises(UserInputError, match=r"no checkpoint given, and the default voice 'slt' "
                                             r"does not ship with this install; give a checkpoint"):
        Synthesizer(vocoder="griffin-lim")


def _card(folder: Path) -> str:
    path = folder / "card.md"
    path.write_text(CARD, encoding="utf-8")
    return str(path)

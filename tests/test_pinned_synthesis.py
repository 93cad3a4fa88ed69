"""Synthesis behaviour users rely on: utterance i's audio comes from text i, sentences stay in
order, batching changes nothing, bad devices and a used listening-test folder are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_ebm import Synthesizer
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig
from vocoder.device import resolve_device

TEXTS = ["The birch canoe slid.", "Glue the sheet to it. Then rest!", "Oak is strong."]


class FrameVocoder:
    """Frame-local stand-in vocoder: each mel frame becomes hop samples of its mean, so a
    waveform shows exactly which mel frames (and in which order) it was made from."""

    sample_rate, hop_length = 22050, 256

    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor:
        return log_mel.mean(dim=1).repeat_interleave(self.hop_length, dim=-1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    """An untrained tiny model whose energy has a non-trivial minimum (the sampler moves)."""
    torch.manual_seed(0)
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny"},
        "sampler": {"name": "gd", "options": {"steps": 2, "temperature": 0.0}},
    })
    table = SymbolTable.default()
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(table))
    with torch.no_grad():  # leave the initial state, whose energy is minimal at mu
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    payload = make_payload(config, table, [-5.0] * 80, [2.0] * 80, model.state_dict())
    path = tmp_path_factory.mktemp("ckpt") / "last.ckpt"
    torch.save({"tts_ebm": payload, "state_dict": {}}, path)
    return Synthesizer(path, vocoder=FrameVocoder(), device="cpu")


def alone(synth: Synthesizer, text: str):
    return synth.synthesize_utterances([text], steps=2, temperature=0.0)[0]


@pytest.mark.parametrize("max_batch", [16, 2])  # 2: sentences span several batches
def test_batched_synthesis_equals_one_at_a_time(synth, monkeypatch, max_batch):
    monkeypatch.setattr("tts_ebm.synthesis.MAX_BATCH", max_batch)
    monkeypatch.setattr("tts_ebm.synthesis.CPU_VOCODER_BATCH", max_batch)  # the padded path
    batched = synth.synthesize_utterances(TEXTS, steps=2, temperature=0.0)
    singles = [alone(synth, text) for text in TEXTS]
    assert [u.sentences for u in batched] == [u.sentences for u in singles]
    for together, single in zip(batched, singles):
        assert [d.tolist() for d in together.durations] == [d.tolist() for d in single.durations]
        np.testing.assert_allclose(together.mel, single.mel, atol=1e-4)
        np.testing.assert_allclose(together.waveform, single.waveform, atol=1e-4)
    still = synth.synthesize_utterances(TEXTS[:1], steps=0, temperature=0.0)[0]
    assert not np.allclose(still.mel, singles[0].mel, atol=1e-3)  # the sampler moved
    # the texts really sound different, so a swap or a copy could not pass the loop above
    first, second = singles[0].mel, singles[2].mel
    n = min(first.shape[1], second.shape[1])
    assert not np.allclose(first[:, :n], second[:, :n], atol=1e-2)


def test_sentences_are_joined_in_order_with_a_pause(synth):
    one, two = "Glue the sheet to it.", "Then rest!"
    joined = alone(synth, f"{one} {two}")
    first, second = alone(synth, one), alone(synth, two)
    assert joined.sentences == [one, two]
    pause = synth.pause_frames
    assert pause == round(0.2 * 22050 / 256)
    np.testing.assert_allclose(
        joined.waveform,
        np.concatenate([first.waveform, np.zeros(pause * 256), second.waveform]), atol=1e-4)
    np.testing.assert_allclose(
        joined.mel, np.concatenate([first.mel, np.full((80, pause), np.log(1e-5)), second.mel],
                                   axis=1), atol=1e-4)
    assert [d.tolist() for d in joined.durations] == [first.durations[0].tolist(),
                                                      second.durations[0].tolist()]


def test_synthesize_returns_waveforms_in_text_order(synth):
    waves = synth.synthesize(TEXTS[::-1], steps=2, temperature=0.0)
    expected = [alone(synth, text).waveform for text in TEXTS[::-1]]
    assert len(waves) == 3
    for got, want in zip(waves, expected):
        np.testing.assert_allclose(got, want, atol=1e-4)


# ---------------------------------------------------------------- devices
def test_unknown_device_is_refused():
    with pytest.raises(UserInputError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


def test_cuda_requested_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:1", torch.device("cuda")):
        with pytest.raises(UserInputError, match="CUDA is not available"):
            resolve_device(name)
    assert resolve_device(None) == torch.device("cpu")  # the default falls back quietly
    assert resolve_device("cpu") == torch.device("cpu")


def test_device_is_checked_before_the_checkpoint_is_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match="CUDA is not available"):
        Synthesizer(tmp_path / "missing.ckpt", device="cuda")
    code = main(["synthesize", "--checkpoint", str(tmp_path / "missing.ckpt"), "--text", "Hi.",
                 "--out", str(tmp_path / "a.wav"), "--device", "gpu0"])
    assert code == 2
    assert "unknown device 'gpu0'" in capsys.readouterr().err
    assert not (tmp_path / "a.wav").exists()


# ---------------------------------------------------------------- listening test
def test_listening_export_refuses_a_non_empty_out(tmp_path, make_wav, capsys):
    make_wav("system/u1.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "key.csv").write_text("an earlier test's key\n")
    args = ["export-listening-test", "--system", f"ebm={tmp_path / 'system'}",
            "--out", str(out), "--format", "csv"]
    assert main(args) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["key.csv"]
    assert (out / "key.csv").read_text() == "an earlier test's key\n"
    # an existing but empty folder is fine
    (out / "key.csv").unlink()
    assert main(args) == 0
    assert (out / "key.csv").is_file() and (out / "stimuli").is_dir()

"""More pinned synthesis behaviour (issue 14): WAV format and clipping, sampler controls reaching
the sampler, de-normalisation of the mel, error messages, vocoder batching per device, float32
outputs, and `synthesize()` passing every argument through. Uses stand-ins, no checkpoint."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch

from tts_ebm import synthesis
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.io import write_wav
from tts_ebm.synthesis import Synthesizer
from tts_ebm.text import SymbolTable

SILENCE = math.log(1e-5)


class SpyVocoder:
    """Records each padded batch; frame f becomes hop samples of that frame's channel-0 value."""

    sample_rate, hop_length = 22050, 256

    def __init__(self) -> None:
        self.calls: list[torch.Tensor] = []

    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor:
        self.calls.append(log_mel.clone())
        return log_mel[:, 0, :].repeat_interleave(self.hop_length, dim=-1)


class FakeModel:
    """generate() returns a fixed normalised mel (B, 80, T) and fixed durations."""

    def __init__(self, mel: torch.Tensor, durations: torch.Tensor) -> None:
        self.mel, self.durations, self.calls = mel, durations, []

    def generate(self, tokens, lengths, sampler, *, length_scale, generator, prosody):
        self.calls.append((tokens.clone(), lengths.clone()))
        return SimpleNamespace(mel=self.mel, durations=self.durations,
                               trace=SimpleNamespace(states=None))


def bare(device: str = "cpu", model=None, options=None) -> Synthesizer:
    """A Synthesizer without a checkpoint: stand-in bundle, SpyVocoder."""
    s = object.__new__(Synthesizer)
    s.device = torch.device(device)
    s.bundle = SimpleNamespace(
        model=model, symbols=SymbolTable.default(), language="en-us",
        mel_mean=torch.arange(80, dtype=torch.float32) * 0.1 - 5.0,
        mel_std=torch.linspace(0.5, 2.0, 80),
        config=SimpleNamespace(sampler=SimpleNamespace(name="gd", options=options or {})),
    )
    s._vocoder_spec = None
    s.sample_rate, s.hop_length = 22050, 256
    s.pause_frames = round(0.2 * 22050 / 256)
    s.__dict__["vocoder"] = SpyVocoder()
    return s


# ---------------------------------------------------------------- WAV files
def test_write_wav_clips_to_pcm16_wav(tmp_path):
    """Catches out-of-range samples written unclipped (wrap-around clicks)."""
    path = write_wav(tmp_path / "a.wav", np.array([1.5, -1.5, 0.5, -0.25], np.float32), 22050)
    data, rate = sf.read(path, dtype="float32")
    assert rate == 22050
    np.testing.assert_allclose(data, [1.0, -1.0, 0.5, -0.25], atol=1e-4)
    info = sf.info(path)
    assert (info.format, info.subtype) == ("WAV", "PCM_16")


def test_write_wav_is_wav_whatever_the_suffix(tmp_path):
    """Catches the format being guessed from the file name instead of fixed to WAV."""
    path = write_wav(tmp_path / "take1.audio", np.zeros(8, np.float32), 16000)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate) == ("WAV", "PCM_16", 16000)


# ---------------------------------------------------------------- sampler controls
def test_every_control_reaches_the_sampler(monkeypatch):
    """Catches step_size/temperature/n_candidates/sampler dropped on the way to samplers.build."""
    seen = []
    monkeypatch.setattr(synthesis.samplers, "build", lambda name, **o: seen.append((name, o)))
    s = bare(options={"steps": 9, "extra": 1})
    s.build_sampler(steps=3, step_size=0.25, temperature=0.5, n_candidates=4)
    assert seen[-1] == ("gd", {"steps": 3, "step_size": 0.25, "temperature": 0.5,
                               "n_candidates": 4, "extra": 1})
    s.build_sampler(SynthesisControls(sampler="langevin", step_size="1/K"))
    assert seen[-1] == ("langevin", {"step_size": "1/K"})
    # synthesize_utterances passes its controls on in the right places
    monkeypatch.setattr(Synthesizer, "sentences", lambda self, t: [(t, [1])])
    monkeypatch.setattr(Synthesizer, "_generate", lambda self, *a: ([], [], []))
    monkeypatch.setattr(Synthesizer, "_vocode", lambda self, m, vocoder=None: [])
    monkeypatch.setattr(Synthesizer, "_join", lambda self, *a: None)
    s.synthesize_utterances(["Hi."], steps=5, step_size=0.1, sampler="euler", temperature=0.3,
                            n_candidates=2)
    assert seen[-1] == ("euler", {"steps": 5, "step_size": 0.1, "temperature": 0.3,
                                  "n_candidates": 2})


def test_synthesize_function_passes_everything_through(monkeypatch):
    """Catches synthesize() dropping device, sampler, step_size, temperature, length or seed."""
    record = {}

    class Fake:
        sample_rate = 22050

        def __init__(self, checkpoint, vocoder=None, device=None):
            record["init"] = (checkpoint, vocoder, device)

        def synthesize(self, text, controls):
            record["call"] = (text, controls)
            return np.ones(3, np.float32)

    monkeypatch.setattr(synthesis, "Synthesizer", Fake)
    wave, rate = synthesis.synthesize("Hi.", "c.ckpt", vocoder="v", steps=4, step_size=0.2,
                                      sampler="gd", temperature=0.7, length_scale=1.3,
                                      n_candidates=3, seed=11, device="cpu")
    assert rate == 22050 and wave.tolist() == [1, 1, 1]
    assert record["init"] == ("c.ckpt", "v", "cpu")
    assert record["call"] == ("Hi.", SynthesisControls(
        steps=4, step_size=0.2, sampler="gd", temperature=0.7, length_scale=1.3,
        n_candidates=3, seed=11))


# ---------------------------------------------------------------- error messages
def test_texts_must_be_a_non_empty_list():
    """Catches a bare string (synthesised letter by letter) or [] accepted, or a vague message."""
    s = bare()
    for bad in ("Hello there.", []):
        with pytest.raises(UserInputError, match=r"^texts must be a non-empty list of strings$"):
            s.synthesize_utterances(bad)


def test_sentences_error_messages():
    """Catches unhelpful messages for a non-string, an empty or an unspeakable text."""
    s = bare()
    with pytest.raises(UserInputError, match=r"^text must be a string, got int$"):
        s.sentences(5)
    with pytest.raises(UserInputError, match=r"^text is empty$"):
        s.sentences("   ")
    text = "... " * 30  # 120 characters, nothing speakable
    with pytest.raises(UserInputError) as caught:
        s.sentences(text)
    message = str(caught.value)
    assert message.startswith(f"nothing speakable in text {text[:80]!r}: ")
    assert message.split(": ", 1)[1].strip() not in ("", "None")  # the first reason is kept


def test_long_sentences_are_cut_at_max_sentence_chars(monkeypatch):
    """Catches MAX_SENTENCE_CHARS not reaching split_sentences (over-long generation)."""
    monkeypatch.setattr(synthesis, "MAX_SENTENCE_CHARS", 30)
    text = "the birch canoe slid on the smooth planks, glue the sheet to the dark blue background"
    pieces = bare().sentences(text)
    assert len(pieces) > 1 and all(len(sentence) <= 30 for sentence, _ in pieces)


def test_non_finite_mel_message():
    """Catches a changed NaN/inf message (users are told what to try)."""
    mel = torch.full((1, 80, 4), float("nan"))
    s = bare(model=FakeModel(mel, torch.tensor([[2, 2]])))
    with pytest.raises(UserInputError) as caught:
        s._generate([[3, 4]], None, 1.0, None)
    assert str(caught.value) == (
        "the acoustic model produced NaN or infinite mel values; the checkpoint may be "
        "diverged, or the sampler unstable (try fewer steps or a smaller step size)")


# ---------------------------------------------------------------- numbers
def test_generate_denormalises_with_mean_and_std():
    """Catches the mel de-normalised wrongly (mel*std+mean), i.e. wrong audio."""
    torch.manual_seed(1)
    mel = torch.randn(2, 80, 5)
    s = bare(model=FakeModel(mel, torch.tensor([[2, 3, 0], [1, 1, 0]])))
    mels, durations, records = s._generate([[5, 6, 7], [8, 9]], None, 1.0, None)
    std, mean = s.bundle.mel_std.view(1, 80, 1), s.bundle.mel_mean.view(1, 80, 1)
    want = mel * std + mean
    torch.testing.assert_close(mels[0], want[0, :, :5])
    torch.testing.assert_close(mels[1], want[1, :, :2])
    assert [d.tolist() for d in durations] == [[2, 3, 0], [1, 1]]
    assert records == []  # the sampler kept no steps
    tokens, lengths = s.bundle.model.calls[0]
    assert tokens.dtype == torch.long and tokens.tolist() == [[5, 6, 7], [8, 9, 0]]
    assert lengths.tolist() == [3, 2]


def mels_of(lengths):
    return [torch.arange(80 * n, dtype=torch.float32).view(80, n) / 100 for n in lengths]


def test_cpu_vocodes_one_mel_at_a_time():
    """Catches CPU vocoding in padded batches (the slower path) or a wrong pad length."""
    s = bare("cpu")
    mels = mels_of([100, 3, 120])
    waves = s._vocode(mels)
    assert [c.shape for c in s.vocoder.calls] == [(1, 80, 100), (1, 80, 3), (1, 80, 120)]
    for wave, mel in zip(waves, mels):
        assert wave.dtype == np.float32 and wave.shape == (mel.shape[1] * 256,)
        np.testing.assert_allclose(wave, mel[0].repeat_interleave(256).numpy())


def test_cuda_vocodes_in_one_padded_batch():
    """Catches CUDA vocoding one at a time, or padding with anything but silence."""
    s = bare("cuda")  # device type only; the tensors stay on the CPU
    mels = mels_of([100, 3, 120])
    waves = s._vocode(mels)
    assert len(s.vocoder.calls) == 1
    padded = s.vocoder.calls[0]
    assert padded.shape == (3, 80, 120)
    assert torch.all(padded[1, :, 3:] == SILENCE) and torch.all(padded[0, :, 100:] == SILENCE)
    for i, (wave, mel) in enumerate(zip(waves, mels)):
        torch.testing.assert_close(padded[i, :, : mel.shape[1]], mel)
        assert wave.shape == (mel.shape[1] * 256,)


def test_joined_utterance_is_float32():
    """Catches the joined mel promoted to float64 (documented float32)."""
    s = bare()
    mels = mels_of([4, 6])
    waves = [np.ones(4 * 256, np.float32), np.ones(6 * 256, np.float32)]
    u = s._join([("A.", [1]), ("B.", [2])], mels, waves, [np.array([4]), np.array([6])])
    assert u.mel.dtype == np.float32 and u.waveform.dtype == np.float32
    assert u.mel.shape == (80, 4 + s.pause_frames + 6)
    assert np.all(u.mel[:, 4:4 + s.pause_frames] == np.float32(SILENCE))
    assert u.sentences == ["A.", "B."]
    single = s._join([("A.", [1])], mels[:1], waves[:1], [np.array([4])])
    assert single.mel.dtype == np.float32


# ---------------------------------------------------------------- devices and seeds
def test_checkpoint_is_loaded_on_the_chosen_device(monkeypatch):
    """Catches the model loaded on the default device instead of the one asked for."""
    seen = []
    monkeypatch.setattr(synthesis, "load_for_inference",
                        lambda checkpoint, device="default": seen.append((checkpoint, device)))
    s = Synthesizer("x.ckpt", vocoder=SpyVocoder(), device="cpu")
    assert seen == [("x.ckpt", torch.device("cpu"))] and s.device == torch.device("cpu")


def test_seed_generator_is_made_on_the_synthesizer_device(monkeypatch):
    """Catches the seeded generator made on the default device instead of the model's."""
    made = []

    class Generator:
        def __init__(self, device=None):
            made.append(device)

        def manual_seed(self, seed):
            made.append(seed)
            return self

    monkeypatch.setattr(synthesis.torch, "Generator", Generator)
    monkeypatch.setattr(synthesis.samplers, "build", lambda name, **o: None)
    monkeypatch.setattr(Synthesizer, "sentences", lambda self, t: [(t, [1])])
    monkeypatch.setattr(Synthesizer, "_generate", lambda self, ids, c, ls, g, p: ([], [], []))
    monkeypatch.setattr(Synthesizer, "_vocode", lambda self, m, vocoder=None: [])
    monkeypatch.setattr(Synthesizer, "_join", lambda self, *a: None)
    bare("cuda").synthesize_utterances(["Hi."], seed=7)
    assert made == [torch.device("cuda"), 7]

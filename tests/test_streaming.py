"""Streaming: a mel vocoded in chunks with context gives the whole mel's samples, and
`Synthesizer.stream` gives `synthesize`'s audio piece by piece."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vocoder
from data_prep.audio import load_audio
from data_prep.features import MEL, SAMPLE_RATE, mel_spectrogram
from tts_ebm.cli import main
from tts_ebm.streaming import vocode_in_chunks
from tts_ebm.synthesis import Synthesizer

CLIP = Path(__file__).parent / "data" / "ljspeech" / "LJ001-0031.flac"


def _moving_average(mel: np.ndarray, hop: int = 4) -> np.ndarray:
    """A 'vocoder' whose output at a frame depends on the 5 frames around it."""
    padded = np.pad(mel.mean(axis=0), 2, mode="edge")
    smooth = np.convolve(padded, np.ones(5) / 5, mode="valid")
    return np.repeat(smooth, hop).astype(np.float32)


def test_chunks_with_enough_context_give_the_whole_mels_samples():
    mel = np.random.default_rng(0).standard_normal((80, 101)).astype(np.float32)
    whole = _moving_average(mel)
    pieces = list(vocode_in_chunks(mel, _moving_average, hop_length=4, chunk_frames=10,
                                   context_frames=2, max_chunk_frames=30))
    assert [len(p) // 4 for p in pieces] == [10, 20, 30, 30, 11]  # doubling, then at most 30
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-6)
    # without context each chunk's edges see padding instead of their neighbours
    blind = np.concatenate(list(vocode_in_chunks(mel, _moving_average, 4, 10, 0)))
    assert np.abs(blind - whole).max() > 0.05


def test_hifigan_chunks_match_the_whole_mel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recording = load_audio(CLIP, target_sr=SAMPLE_RATE)
    mel = mel_spectrogram(recording)[:, :200]
    generator = vocoder.load("hifigan-lj", "cpu")

    def vocode(m: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return generator(torch.from_numpy(m)[None])[0].numpy()

    whole = vocode(mel)[: 200 * MEL.hop_length]
    pieces = list(vocode_in_chunks(mel, vocode, MEL.hop_length))
    assert [len(p) // MEL.hop_length for p in pieces] == [32, 64, 104]
    streamed = np.concatenate(pieces)
    assert streamed.shape == whole.shape
    # measured: 2e-6 of a peak of 0.48 (context 16 frames each side; 8 frames: 0.11)
    assert np.abs(streamed - whole).max() < 1e-4


def test_synthesizer_stream_is_synthesize_in_pieces(tmp_path, tiny_checkpoint):
    synth = Synthesizer(tiny_checkpoint(tmp_path / "tiny.ckpt"), vocoder="hifigan-lj")
    text = "Hello there. How are you today?"
    whole = synth.synthesize(text, temperature=0)
    pieces = list(synth.stream(text, temperature=0, chunk_frames=8))
    assert len(pieces) > 3  # two sentences, chunks of each, the pause between them
    streamed = np.concatenate(pieces)
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() < 1e-4


def test_stream_checks_every_sentence_before_the_first_piece(tmp_path, tiny_checkpoint):
    synth = Synthesizer(tiny_checkpoint(tmp_path / "tiny.ckpt"), vocoder="hifigan-lj")
    with pytest.raises(Exception, match="text is empty"):
        next(synth.stream("   "))


def test_cli_streams_raw_pcm_and_reports_the_first_audio(tmp_path, tiny_checkpoint,
                                                         capsysbinary):
    checkpoint = str(tiny_checkpoint(tmp_path / "tiny.ckpt"))
    base = ["synthesize", "--checkpoint", checkpoint, "--text", "Hello there. How are you?",
            "--vocoder", "hifigan-lj", "--temperature", "0"]
    assert main([*base, "--out", "-", "--stream"]) == 0
    captured = capsysbinary.readouterr()
    streamed = np.frombuffer(captured.out, dtype="<i2")
    assert b"first audio after" in captured.err
    assert main([*base, "--out", str(tmp_path / "whole.wav")]) == 0
    whole, _ = sf.read(tmp_path / "whole.wav", dtype="int16")
    assert streamed.shape == whole.shape and np.abs(streamed.astype(int) - whole).max() <= 1
    assert main([*base, "--out", str(tmp_path / "x.wav"), "--stream"]) == 2  # needs --out -

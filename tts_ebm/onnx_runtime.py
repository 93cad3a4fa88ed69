"""Text to waveform from an exported voice folder (`tts-ebm export-onnx`) without torch.

The text front end (normalisation, espeak-ng phonemes, the symbol table), onnxruntime and
numpy: what a deployment needs to install. Each sentence runs prior.onnx (μ and durations),
draws its start noise once the frame count is known, runs steps.onnx (the K sampler steps)
and vocoder.onnx; sentences are joined with short silences as `tts_ebm.synthesis` joins them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tts_ebm import streaming
from tts_ebm.errors import UserInputError
from tts_ebm.io import write_wav
from tts_ebm.text import split_sentences, text_to_ids
from tts_ebm.text.symbols import SymbolTable, UnknownSymbolError

FORMAT = 1  # the voice.json format this runtime reads (tts_ebm/export/onnx_export.py)
PAUSE_SECONDS = 0.2  # silence between sentences, as in tts_ebm.synthesis
MAX_SENTENCE_CHARS = 200


class OnnxVoice:
    """A loaded voice folder; `synthesize(text)` -> float32 waveform at `sample_rate`."""

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        self.folder = Path(folder)
        config_path = self.folder / "voice.json"
        if not config_path.is_file():
            raise FileNotFoundError(f"no voice.json in {self.folder}: not an exported voice "
                                    "(tts-ebm export-onnx writes one)")
        self.config = json.loads(config_path.read_text())
        if self.config.get("format") != FORMAT:
            raise UserInputError(f"{config_path} has format {self.config.get('format')!r}; "
                                 f"this runtime reads format {FORMAT}")
        self.symbols = SymbolTable.from_dict(self.config["symbols"])
        self.language: str = self.config["language"]
        self.sample_rate: int = self.config["sample_rate"]
        self.hop_length: int = self.config["hop_length"]
        self.temperature: float = self.config["temperature"]
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._prior = self._session("prior.onnx", options)
        self._steps = self._session("steps.onnx", options)
        has_vocoder = (self.folder / "vocoder.onnx").is_file()
        self._vocoder = self._session("vocoder.onnx", options) if has_vocoder else None

    def _session(self, name: str, options: ort.SessionOptions) -> ort.InferenceSession:
        path = self.folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: export the voice again")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def mel(self, ids: list[int], noise: np.ndarray | None = None, *,
            temperature: float | None = None, length_scale: float = 1.0,
            seed: int | None = None) -> np.ndarray:
        """Raw log-mel (80, T) of one sentence's token ids. `noise` (80, T) is the start noise
        (PyTorch's ε for the same T); without it, it is drawn from `seed`."""
        if not length_scale > 0:
            raise UserInputError(f"length_scale must be > 0, got {length_scale}")
        tau = self.temperature if temperature is None else temperature
        tokens = np.asarray([ids], dtype=np.int64)
        mu, _ = self._prior.run(None, {"tokens": tokens,
                                       "length_scale": np.asarray(length_scale, np.float32)})
        frames = mu.shape[-1]
        if noise is None:
            noise = np.random.default_rng(seed).standard_normal(mu.shape[1:], np.float32)
        if noise.shape != mu.shape[1:]:
            raise UserInputError(f"noise must be {mu.shape[1:]} for this sentence, "
                                 f"got {noise.shape}")
        multiple = self.config["frame_multiple"]
        padded = math.ceil(frames / multiple) * multiple
        pad = ((0, 0), (0, 0), (0, padded - frames))
        mask = np.pad(np.ones((1, 1, frames), np.float32), pad)
        (mel,) = self._steps.run(None, {
            "mu": np.pad(mu, pad), "noise": np.pad(noise[None].astype(np.float32), pad),
            "mask": mask, "temperature": np.asarray(tau, np.float32)})
        return mel[0, :, :frames]

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """Raw log-mel (80, T) -> float32 waveform (T * hop,)."""
        if self._vocoder is None:
            raise UserInputError(f"{self.folder} has no vocoder.onnx (exported without one)")
        (wav,) = self._vocoder.run(None, {"mel": mel[None].astype(np.float32)})
        return wav.reshape(-1)[: mel.shape[-1] * self.hop_length].astype(np.float32)

    def synthesize(self, text: str, *, temperature: float | None = None,
                   length_scale: float = 1.0, seed: int | None = None) -> np.ndarray:
        """float32 waveform of `text`: sentence by sentence, joined by PAUSE_SECONDS."""
        pause = self._pause()
        parts: list[np.ndarray] = []
        for mel in self._mels(text, temperature, length_scale, seed):
            parts += [pause, self.vocode(mel)] if parts else [self.vocode(mel)]
        return np.concatenate(parts)

    def to_file(self, text: str, path: str | Path, *, temperature: float | None = None,
                length_scale: float = 1.0, seed: int | None = None) -> Path:
        """Synthesise `text` into a 16-bit WAV at `path` (written atomically)."""
        wav = self.synthesize(text, temperature=temperature, length_scale=length_scale, seed=seed)
        return write_wav(path, wav, self.sample_rate)

    def stream(self, text: str, *, temperature: float | None = None, length_scale: float = 1.0,
               seed: int | None = None,
               chunk_frames: int = streaming.CHUNK_FRAMES) -> Iterator[np.ndarray]:
        """float32 waveform pieces of `text`, each yielded as soon as it is vocoded: the same
        samples as `synthesize` (to float rounding), in chunks as `Synthesizer.stream` makes them."""
        pause = self._pause()
        for i, mel in enumerate(self._mels(text, temperature, length_scale, seed)):
            if i:
                yield pause
            yield from streaming.vocode_in_chunks(mel, self.vocode, self.hop_length,
                                                  chunk_frames)

    def _pause(self) -> np.ndarray:
        return np.zeros(round(PAUSE_SECONDS * self.sample_rate / self.hop_length)
                        * self.hop_length, np.float32)

    def _mels(self, text: str, temperature: float | None, length_scale: float,
              seed: int | None) -> Iterator[np.ndarray]:
        """Each sentence's raw log-mel, made when asked for; every sentence is checked first."""
        if not text.strip():
            raise UserInputError("text is empty")
        token_lists = []
        for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
            try:
                token_lists.append(text_to_ids(sentence, self.symbols, self.language))
            except UnknownSymbolError:
                raise
            except UserInputError:
                continue  # nothing to say (e.g. '...'): dropped, as tts_ebm.synthesis does
        if not token_lists:
            raise UserInputError(f"nothing speakable in text {text[:80]!r}")
        rng = np.random.default_rng(seed)
        seeds = [int(rng.integers(2**63)) for _ in token_lists]
        return (self.mel(ids, temperature=temperature, length_scale=length_scale, seed=s)
                for ids, s in zip(token_lists, seeds))

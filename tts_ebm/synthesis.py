"""Text to waveform with a trained checkpoint: `synthesize()` for one-off use, `Synthesizer`
to load the model and vocoder once and synthesise many utterances in batches.

Long text is cut into sentences (`split_sentences`), every sentence of every utterance is
generated in one batch, and the sentences of an utterance are joined with short silences.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

import vocoder as vocoders
from data_prep.features import MEL
from tts_ebm import samplers
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_path
from tts_ebm.text import split_sentences, text_to_ids
from tts_ebm.text.symbols import UnknownSymbolError
from tts_ebm.training.checkpoint import load_for_inference
from vocoder.device import resolve_device

PAUSE_SECONDS = 0.2  # silence between the sentences of one utterance
MAX_SENTENCE_CHARS = 200  # longer sentences are cut at commas, then between words
MAX_BATCH = 16  # sentences generated together; bounds memory on long texts
CPU_VOCODER_BATCH = 1  # mels vocoded together on CPU (see Synthesizer._vocode)
SILENCE_LOG_MEL = math.log(1e-5)  # the feature floor: what silence looks like to the vocoder


@dataclass
class Utterance:
    """One synthesised utterance: waveform, the raw log-mel it came from, and bookkeeping."""

    waveform: np.ndarray  # float32 (N,), N = mel frames * hop_length
    mel: np.ndarray  # float32 (80, T) raw log-mel, pauses included as silence frames
    sample_rate: int
    durations: list[np.ndarray]  # frames per token, one array per sentence
    sentences: list[str]

    @property
    def seconds(self) -> float:
        return len(self.waveform) / self.sample_rate


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM WAV written atomically (tts_ebm.io): never a half-written file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(waveform, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return path


class Synthesizer:
    """Loads a checkpoint and a vocoder once; `vocoder` is a spec string, a loaded vocoder, or
    None for the default (falling back to the packaged hifigan-lj when the Hub is unreachable
    and the default is not cached)."""

    def __init__(
        self,
        checkpoint: str | Path,
        vocoder: str | vocoders.Vocoder | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.bundle = load_for_inference(checkpoint, device=self.device)
        self._vocoder_spec = vocoder
        self.sample_rate = MEL.sample_rate
        self.hop_length = MEL.hop_length
        self.pause_frames = round(PAUSE_SECONDS * self.sample_rate / self.hop_length)
        if vocoder is not None:
            _ = self.vocoder  # a vocoder the user named fails here, with its reason

    @functools.cached_property
    def vocoder(self) -> vocoders.Vocoder:
        """The default is loaded on first use, so that bad text fails before a Hub lookup."""
        vocoder = self._vocoder_spec
        if vocoder is None or isinstance(vocoder, str):
            vocoder = vocoders.load_or_fallback(vocoder, self.device)
        if (vocoder.sample_rate, vocoder.hop_length) != (MEL.sample_rate, MEL.hop_length):
            raise UserInputError(
                f"the vocoder works at {vocoder.sample_rate} Hz with hop {vocoder.hop_length}, "
                f"but the acoustic model's mels are {MEL.sample_rate} Hz with hop {MEL.hop_length}"
            )
        return vocoder

    def build_sampler(
        self,
        sampler: str | None = None,
        steps: int | None = None,
        step_size: float | str | None = None,
        temperature: float | None = None,
        n_candidates: int | None = None,
    ) -> samplers.Sampler:
        """The checkpoint's sampler with the given controls overridden; another sampler name
        starts from that sampler's defaults (its options may not apply to the other)."""
        configured = self.bundle.config.sampler
        name = sampler or configured.name
        options: dict[str, Any] = dict(configured.options) if name == configured.name else {}
        overrides = {"steps": steps, "step_size": step_size, "temperature": temperature,
                     "n_candidates": n_candidates}
        options.update({k: v for k, v in overrides.items() if v is not None})
        return samplers.build(name, **options)

    def synthesize(
        self, text: str | list[str], **controls: Any
    ) -> np.ndarray | list[np.ndarray]:
        """Waveform(s) float32 at `self.sample_rate`; a list of texts gives a list of waveforms."""
        utterances = self.synthesize_utterances([text] if isinstance(text, str) else text,
                                                **controls)
        waveforms = [u.waveform for u in utterances]
        return waveforms[0] if isinstance(text, str) else waveforms

    def to_file(self, text: str, path: str | Path, **controls: Any) -> Path:
        """Synthesise `text` into a 16-bit WAV at `path` (written atomically)."""
        utterance = self.synthesize_utterances([text], **controls)[0]
        return write_wav(path, utterance.waveform, self.sample_rate)

    def synthesize_utterances(
        self,
        texts: list[str],
        *,
        steps: int | None = None,
        step_size: float | str | None = None,
        sampler: str | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        n_candidates: int | None = None,
        seed: int | None = None,
    ) -> list[Utterance]:
        """All sentences of all texts, generated in batches of MAX_BATCH, then joined per text."""
        if isinstance(texts, str) or not texts:
            raise UserInputError("texts must be a non-empty list of strings")
        chosen = self.build_sampler(sampler, steps, step_size, temperature, n_candidates)
        split = [self.sentences(text) for text in texts]
        flat = [item for sentences in split for item in sentences]
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(int(seed))
        mels, durations = [], []
        for start in range(0, len(flat), MAX_BATCH):
            batch = flat[start:start + MAX_BATCH]
            batch_mels, batch_durations = self._generate([ids for _, ids in batch], chosen,
                                                         length_scale, generator)
            mels += batch_mels
            durations += batch_durations
        waves = self._vocode(mels)
        utterances, offset = [], 0
        for sentences in split:
            n = len(sentences)
            utterances.append(self._join(sentences, mels[offset:offset + n],
                                         waves[offset:offset + n], durations[offset:offset + n]))
            offset += n
        return utterances

    def sentences(self, text: str) -> list[tuple[str, list[int]]]:
        """(sentence, token ids) pairs of `text`, or UserInputError if it has nothing to say.

        Sentences with nothing to say (e.g. '...') are dropped; a sentence with a phoneme symbol
        the model never saw is an UnknownSymbolError naming it. Cheap to call up front to
        validate a batch before any audio is generated.
        """
        if not isinstance(text, str):
            raise UserInputError(f"text must be a string, got {type(text).__name__}")
        if not text.strip():
            raise UserInputError("text is empty")
        pieces, first_error = [], None
        for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
            try:
                ids = text_to_ids(sentence, self.bundle.symbols, self.bundle.language)
            except UnknownSymbolError:
                raise
            except UserInputError as error:
                first_error = first_error or error
                continue
            pieces.append((sentence, ids))
        if not pieces:
            raise UserInputError(f"nothing speakable in text {text[:80]!r}: {first_error}")
        return pieces

    def _generate(
        self,
        token_lists: list[list[int]],
        sampler: samplers.Sampler,
        length_scale: float,
        generator: torch.Generator | None,
    ) -> tuple[list[torch.Tensor], list[np.ndarray]]:
        """Raw log-mels (80, T_i) and token durations for one batch of sentences."""
        lengths = torch.tensor([len(ids) for ids in token_lists], device=self.device)
        tokens = torch.zeros(len(token_lists), int(lengths.max()), dtype=torch.long,
                             device=self.device)
        for i, ids in enumerate(token_lists):
            tokens[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        out = self.bundle.model.generate(tokens, lengths, sampler, length_scale=length_scale,
                                         generator=generator)
        frames = out.durations.sum(dim=1).tolist()
        mel = out.mel * self.bundle.mel_std.view(1, -1, 1) + self.bundle.mel_mean.view(1, -1, 1)
        mels = [mel[i, :, :n] for i, n in enumerate(frames)]
        if not all(torch.isfinite(m).all() for m in mels):
            raise UserInputError(
                "the acoustic model produced NaN or infinite mel values; the checkpoint may be "
                "diverged, or the sampler unstable (try fewer steps or a smaller step size)"
            )
        return mels, [d[:n].cpu().numpy() for d, n in zip(out.durations, lengths.tolist())]

    def _vocode(self, mels: list[torch.Tensor]) -> list[np.ndarray]:
        """Pad with silence, vocode, trim each waveform to its frames * hop.

        Batched on CUDA; one at a time on CPU, where padding costs more than batching saves
        (HiFi-GAN V1, 2 threads: RTF 0.37 for a padded batch against 0.28 one at a time,
        benchmarks/vocoder_speed.py).
        """
        per_call = MAX_BATCH if self.device.type == "cuda" else CPU_VOCODER_BATCH
        waves: list[np.ndarray] = []
        for start in range(0, len(mels), per_call):
            batch = mels[start:start + per_call]
            longest = max(m.shape[-1] for m in batch)
            padded = torch.full((len(batch), batch[0].shape[0], longest), SILENCE_LOG_MEL,
                                device=batch[0].device)
            for i, m in enumerate(batch):
                padded[i, :, : m.shape[-1]] = m
            wav = self.vocoder(padded)
            waves += [wav[i, : m.shape[-1] * self.hop_length].cpu().numpy().astype(np.float32)
                      for i, m in enumerate(batch)]
        return waves

    def _join(
        self,
        sentences: list[tuple[str, list[int]]],
        mels: list[torch.Tensor],
        waves: list[np.ndarray],
        durations: list[np.ndarray],
    ) -> Utterance:
        """Concatenate sentences with PAUSE_SECONDS of silence (frame-aligned in mel and audio)."""
        pause_mel = np.full((mels[0].shape[0], self.pause_frames), SILENCE_LOG_MEL, np.float32)
        pause_wav = np.zeros(self.pause_frames * self.hop_length, np.float32)
        mel_parts, wav_parts = [], []
        for i, (mel, wav) in enumerate(zip(mels, waves)):
            if i:
                mel_parts.append(pause_mel)
                wav_parts.append(pause_wav)
            mel_parts.append(mel.cpu().numpy().astype(np.float32))
            wav_parts.append(wav)
        return Utterance(
            waveform=np.concatenate(wav_parts), mel=np.concatenate(mel_parts, axis=1),
            sample_rate=self.sample_rate, durations=durations,
            sentences=[sentence for sentence, _ in sentences],
        )


def synthesize(
    text: str,
    checkpoint: str | Path,
    *,
    vocoder: str | vocoders.Vocoder | None = None,
    steps: int | None = None,
    step_size: float | str | None = None,
    sampler: str | None = None,
    temperature: float | None = None,
    length_scale: float = 1.0,
    n_candidates: int | None = None,
    seed: int | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, int]:
    """(float32 waveform, sample rate) for `text`; loads everything on each call — use
    `Synthesizer` for more than one utterance."""
    synthesizer = Synthesizer(checkpoint, vocoder=vocoder, device=device)
    waveform = synthesizer.synthesize(
        text, steps=steps, step_size=step_size, sampler=sampler, temperature=temperature,
        length_scale=length_scale, n_candidates=n_candidates, seed=seed,
    )
    return waveform, synthesizer.sample_rate


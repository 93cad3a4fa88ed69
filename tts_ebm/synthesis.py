"""Text to waveform with a trained checkpoint: `synthesize()` for one-off use, `Synthesizer`
to load the model and vocoder once and synthesise many utterances in batches.

Long text is cut into sentences (`split_sentences`), every sentence of every utterance is
generated in one batch, and the sentences of an utterance are joined with short silences.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import vocoder as vocoders
from data_prep.features import MEL
from tts_ebm import samplers, streaming
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.io import write_wav
from tts_ebm.model.acoustic import GenerateOutput
from tts_ebm.model.variance import AS_PREDICTED, VarianceControls
from tts_ebm.text import split_sentences, text_to_ids
from tts_ebm.text.symbols import UnknownSymbolError
from tts_ebm.training.checkpoint import load_for_inference
from vocoder.device import resolve_device

if TYPE_CHECKING:
    from tts_ebm.onnx_runtime import OnnxVoice

PAUSE_SECONDS = 0.2  # silence between the sentences of one utterance
MAX_SENTENCE_CHARS = 200  # longer sentences are cut at commas, then between words
MAX_BATCH = 16  # sentences generated together; bounds memory on long texts
CPU_VOCODER_BATCH = 1  # mels vocoded together on CPU (see Synthesizer._vocode)
SILENCE_LOG_MEL = math.log(1e-5)  # the feature floor: what silence looks like to the vocoder


@dataclass
class StepRecord:
    """What the sampler did to one utterance (`keep_steps=True`), sentences joined by pauses.

    energies: (K + 1,) the utterance's energy before each step and after the last (the sum over
    its sentences, each generated on its own; NaN for a field without an energy);
    mu: (80, T) raw log-mel of the prior mean; states: (K + 1, 80, T) raw log-mel of the start
    sample mu + tau*eps and of x after each step (states[-1] is the final mel), or None once a
    holder dropped them to bound its memory (the serve page keeps them within a byte budget).
    """

    energies: np.ndarray
    mu: np.ndarray
    states: np.ndarray | None


@dataclass
class Utterance:
    """One synthesised utterance: waveform, the raw log-mel it came from, and bookkeeping."""

    waveform: np.ndarray  # float32 (N,), N = mel frames * hop_length
    mel: np.ndarray  # float32 (80, T) raw log-mel, pauses included as silence frames
    sample_rate: int
    durations: list[np.ndarray]  # frames per token, one array per sentence
    sentences: list[str]
    record: StepRecord | None = None

    @property
    def seconds(self) -> float:
        return len(self.waveform) / self.sample_rate


class Synthesizer:
    """Loads a checkpoint and a vocoder once. `checkpoint` is a path, a shipped voice's name, a
    Hub spec, or None for the shipped default voice (tts_ebm.voices); `vocoder` is a spec string,
    a loaded vocoder, or None for the default (falling back to the packaged hifigan-lj when the
    Hub is unreachable and the default is not cached)."""

    def __init__(
        self,
        checkpoint: str | Path | None = None,
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

    @staticmethod
    def from_onnx(folder: str | Path, threads: int | None = None) -> OnnxVoice:
        """A voice folder of `tts-ebm export-onnx`, run by onnxruntime: an OnnxVoice, whose
        `synthesize`, `to_file` and `stream` take temperature, length_scale and seed (K and the
        sampler are fixed at export).
        Importing this module imports torch; a deployment without it imports
        `tts_ebm.onnx_runtime.OnnxVoice` itself."""
        from tts_ebm.onnx_runtime import OnnxVoice

        return OnnxVoice(folder, threads=threads)

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
        self, controls: SynthesisControls | None = None, **overrides: Any
    ) -> samplers.Sampler:
        """The checkpoint's sampler with the given controls overridden; another sampler name
        starts from that sampler's defaults (its options may not apply to the other)."""
        controls = _controls(controls, overrides)
        configured = self.bundle.config.sampler
        name = controls.sampler or configured.name
        options: dict[str, Any] = dict(configured.options) if name == configured.name else {}
        options.update(controls.sampler_options())
        return samplers.build(name, **options)

    def synthesize(
        self, text: str | list[str], controls: SynthesisControls | None = None, **overrides: Any
    ) -> np.ndarray | list[np.ndarray]:
        """Waveform(s) float32 at `self.sample_rate`; a list of texts gives a list of waveforms."""
        utterances = self.synthesize_utterances([text] if isinstance(text, str) else text,
                                                controls, **overrides)
        waveforms = [u.waveform for u in utterances]
        return waveforms[0] if isinstance(text, str) else waveforms

    def to_file(
        self, text: str, path: str | Path, controls: SynthesisControls | None = None,
        **overrides: Any,
    ) -> Path:
        """Synthesise `text` into a 16-bit WAV at `path` (written atomically)."""
        utterance = self.synthesize_utterances([text], controls, **overrides)[0]
        return write_wav(path, utterance.waveform, self.sample_rate)

    def synthesize_utterances(
        self,
        texts: list[str],
        controls: SynthesisControls | None = None,
        *,
        keep_steps: bool = False,
        vocoder: vocoders.Vocoder | None = None,
        **overrides: Any,
    ) -> list[Utterance]:
        """All sentences of all texts, generated in batches of MAX_BATCH, then joined per text.

        `controls` (or its fields as keywords) override the checkpoint's sampler settings;
        `keep_steps` also records each utterance's energies and mel after every step
        (`Utterance.record`), which costs one more energy evaluation and K + 1 mel copies;
        `vocoder` replaces `self.vocoder` for this call only, so that callers sharing one
        Synthesizer (the serve page) can each use their own without mutating it.
        """
        if isinstance(texts, str) or not texts:
            raise UserInputError("texts must be a non-empty list of strings")
        controls = _controls(controls, overrides)
        chosen = self.build_sampler(controls)
        if keep_steps:
            chosen = dataclasses.replace(chosen, keep_steps=True)
        split = [self.sentences(text) for text in texts]
        flat = [item for sentences in split for item in sentences]
        generator = None
        if controls.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(controls.seed)
        mels, durations, records = [], [], []
        for start in range(0, len(flat), MAX_BATCH):
            batch = flat[start:start + MAX_BATCH]
            batch_mels, batch_durations, batch_records = self._generate(
                [ids for _, ids in batch], chosen, controls.length_scale, generator,
                controls.prosody())
            mels += batch_mels
            durations += batch_durations
            records += batch_records
        waves = self._vocode(mels, vocoder)
        utterances, offset = [], 0
        for sentences in split:
            n = len(sentences)
            utterance = self._join(sentences, mels[offset:offset + n], waves[offset:offset + n],
                                   durations[offset:offset + n])
            if keep_steps:
                utterance.record = _join_records(records[offset:offset + n], self.pause_frames)
            utterances.append(utterance)
            offset += n
        return utterances

    def stream(self, text: str, controls: SynthesisControls | None = None, *,
               chunk_frames: int = streaming.CHUNK_FRAMES,
               vocoder: vocoders.Vocoder | None = None, **overrides: Any,
               ) -> Iterator[np.ndarray]:
        """float32 waveform pieces of `text` at `self.sample_rate`, each yielded as soon as it
        is vocoded: sentence by sentence, each vocoded in chunks, the first of `chunk_frames`
        mel frames and each next one twice as long (tts_ebm.streaming), sentences joined by the same pauses as `synthesize`. Every
        sentence is checked before the first piece. With a seed, the start noise is drawn per
        sentence, so the samples differ from `synthesize`'s batched draw. `vocoder` replaces
        `self.vocoder` for this call only, as in `synthesize_utterances`."""
        controls = _controls(controls, overrides)
        chosen = self.build_sampler(controls)
        sentences = self.sentences(text)
        generator = None
        if controls.seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(controls.seed)
        pause = np.zeros(self.pause_frames * self.hop_length, np.float32)
        for i, (_, ids) in enumerate(sentences):
            (mel,), _, _ = self._generate([ids], chosen, controls.length_scale, generator,
                                          controls.prosody())
            if i:
                yield pause
            yield from streaming.vocode_in_chunks(
                mel.cpu().numpy(),
                lambda chunk: self._vocode([torch.from_numpy(chunk).to(self.device)], vocoder)[0],
                self.hop_length, chunk_frames)

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

    def generate_batch(
        self,
        token_lists: list[list[int]],
        sampler: samplers.Sampler,
        length_scale: float = 1.0,
        generator: torch.Generator | None = None,
        prosody: VarianceControls = AS_PREDICTED,
    ) -> GenerateOutput:
        """The acoustic model alone on one padded batch of token-id lists (`sentences`' ids):
        normalised mels, durations, μ; what benchmarks time and probe without the vocoder."""
        lengths = torch.tensor([len(ids) for ids in token_lists], device=self.device)
        tokens = torch.zeros(len(token_lists), int(lengths.max()), dtype=torch.long,
                             device=self.device)
        for i, ids in enumerate(token_lists):
            tokens[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return self.bundle.model.generate(tokens, lengths, sampler, length_scale=length_scale,
                                          generator=generator, prosody=prosody)

    def _generate(
        self,
        token_lists: list[list[int]],
        sampler: samplers.Sampler,
        length_scale: float,
        generator: torch.Generator | None,
        prosody: VarianceControls = AS_PREDICTED,
    ) -> tuple[list[torch.Tensor], list[np.ndarray], list[tuple[np.ndarray, ...]]]:
        """Raw log-mels (80, T_i), token durations and, with a `keep_steps` sampler, per
        sentence (energies (K+1,), raw mu (80, T_i), raw states (K+1, 80, T_i)) of one batch."""
        out = self.generate_batch(token_lists, sampler, length_scale, generator, prosody)
        lengths = [len(ids) for ids in token_lists]
        frames = out.durations.sum(dim=1).tolist()
        std, mean = self.bundle.mel_std.view(1, -1, 1), self.bundle.mel_mean.view(1, -1, 1)
        mel = out.mel * std + mean
        mels = [mel[i, :, :n] for i, n in enumerate(frames)]
        if not all(torch.isfinite(m).all() for m in mels):
            raise UserInputError(
                "the acoustic model produced NaN or infinite mel values; the checkpoint may be "
                "diverged, or the sampler unstable (try fewer steps or a smaller step size)"
            )
        records = []
        if out.trace.states is not None:
            energies = out.trace.energies.detach().cpu().numpy()
            mu = (out.mu * std + mean).cpu().numpy()
            states = (out.trace.states * std + mean).cpu().numpy()
            records = [(energies[:, i], mu[i, :, :n], states[:, i, :, :n])
                       for i, n in enumerate(frames)]
        durations = [d[:n].cpu().numpy() for d, n in zip(out.durations, lengths)]
        return mels, durations, records

    def _vocode(
        self, mels: list[torch.Tensor], vocoder: vocoders.Vocoder | None = None
    ) -> list[np.ndarray]:
        """Pad with silence, vocode (with `vocoder`, else `self.vocoder`), trim each waveform to
        its frames * hop.

        Batched on CUDA; one at a time on CPU, where padding costs more than batching saves
        (HiFi-GAN V1, 2 threads: RTF 0.37 for a padded batch against 0.28 one at a time,
        benchmarks/vocoder_speed.py).
        """
        vocoder = self.vocoder if vocoder is None else vocoder
        per_call = MAX_BATCH if self.device.type == "cuda" else CPU_VOCODER_BATCH
        waves: list[np.ndarray] = []
        for start in range(0, len(mels), per_call):
            batch = mels[start:start + per_call]
            longest = max(m.shape[-1] for m in batch)
            padded = torch.full((len(batch), batch[0].shape[0], longest), SILENCE_LOG_MEL,
                                device=batch[0].device)
            for i, m in enumerate(batch):
                padded[i, :, : m.shape[-1]] = m
            wav = vocoder(padded)
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


def _join_records(records: list[tuple[np.ndarray, ...]], pause_frames: int) -> StepRecord:
    """One StepRecord from per-sentence (energies, mu, states), joined like `_join` joins mels.

    Sentences of different batches may have stopped after different numbers of steps (`tol`);
    a stopped sentence no longer moves, so its last row is repeated.
    """
    rows = max(len(energies) for energies, _, _ in records)
    energies = sum(np.pad(e, (0, rows - len(e)), mode="edge") for e, _, _ in records)
    pause = np.full((records[0][1].shape[0], pause_frames), SILENCE_LOG_MEL, np.float32)
    mu_parts, state_parts = [], []
    for i, (_, mu, states) in enumerate(records):
        if i:
            mu_parts.append(pause)
            state_parts.append(np.broadcast_to(pause, (rows, *pause.shape)))
        mu_parts.append(mu)
        state_parts.append(np.pad(states, ((0, rows - len(states)), (0, 0), (0, 0)), mode="edge"))
    return StepRecord(energies=np.asarray(energies, np.float64),
                      mu=np.concatenate(mu_parts, axis=1).astype(np.float32),
                      states=np.concatenate(state_parts, axis=2).astype(np.float32))


def synthesize(
    text: str,
    checkpoint: str | Path | None = None,
    *,
    vocoder: str | vocoders.Vocoder | None = None,
    device: str | torch.device | None = None,
    controls: SynthesisControls | None = None,
    **overrides: Any,
) -> tuple[np.ndarray, int]:
    """(float32 waveform, sample rate) for `text`; `controls` or its fields as keywords
    (steps=4, seed=0, ...). With no checkpoint, the shipped default voice. Loads everything on
    each call — use `Synthesizer` for more than one utterance."""
    controls = _controls(controls, overrides)  # bad controls fail before the model loads
    synthesizer = Synthesizer(checkpoint, vocoder=vocoder, device=device)
    return synthesizer.synthesize(text, controls), synthesizer.sample_rate


def _controls(controls: SynthesisControls | None, overrides: dict[str, Any]) -> SynthesisControls:
    """`controls` with keyword overrides applied (unknown names are refused by name)."""
    controls = controls or SynthesisControls()
    if not overrides:
        return controls
    return SynthesisControls.from_mapping({**dataclasses.asdict(controls), **overrides})


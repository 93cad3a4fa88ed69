"""The variance adaptor: pitch (and energy) predicted from the text and embedded into the frames.

Why: μ is a FastSpeech-style mean. Without a pitch to follow, the prior decoder averages the
pitch movement of the training data away, so μ's harmonics stay flat inside every phoneme (a
monotone voice) and a few gradient steps on the energy cannot invent a coherent contour.
FastSpeech 2 gives its decoder the pitch and energy of the recordings in training and predicted
ones at inference; this does the same in front of the prior decoder, so that μ (and with it the
field, which is conditioned on μ) carries a pitch contour:

    h_frames = expand(hidden) + embed(pitch, energy),   μ = expand(μ_ph) + decoder(h_frames)

- pitch is the natural log of F0 (dio + stonemask at feature time, `data_prep/extract.py`),
  interpolated across unvoiced frames, mapped to [-1, 1] over the fixed range F0_MIN..F0_MAX
  (no corpus statistics to carry; a semitone is the same step for every voice);
- energy is the mean over bins of the standardised log-mel of a frame (its loudness), computed
  from the mel itself, so it needs no file;
- `level` "frame" predicts a value per frame (dilated convolutions over the expanded text
  states, so a contour can move inside a phoneme); "phoneme" one per token (the frame values
  averaged along the alignment, as FastSpeech 2's public implementations do), expanded;
- `embedding` "continuous" is a convolution of the values (FastPitch); "quantised" looks each
  value up in N_BINS bins (FastSpeech 2).

The predictor reads the encoder states detached (like the duration predictor): the variance loss
must not reshape the features MAS aligns with. Training embeds the recordings' values (teacher
forcing) and regresses the predictor on them (MSE); inference embeds the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from tts_ebm.errors import UserInputError
from tts_ebm.model.alignment import expand, gather_frames
from tts_ebm.networks.frame import ResConvBlock
from tts_ebm.networks.layers import ChannelLayerNorm

LEVELS = ("none", "phoneme", "frame")
EMBEDDINGS = ("continuous", "quantised")
F0_MIN, F0_MAX = 60.0, 500.0  # Hz: the pitch range (the same as the evaluation's F0 tracker)
_LOG_F0_CENTRE = 0.5 * (math.log(F0_MIN) + math.log(F0_MAX))
_LOG_F0_HALF_RANGE = 0.5 * (math.log(F0_MAX) - math.log(F0_MIN))
N_BINS = 256
# quantisation ranges of the normalised variables: pitch spans [-1, 1] by construction; the
# energy (mean standardised log-mel of a frame) lies within +-3 on speech and silence
_RANGES = {"pitch": (-1.0, 1.0), "energy": (-3.0, 3.0)}


def continuous_log_f0(f0: np.ndarray, n_frames: int) -> np.ndarray:
    """ln F0 (n_frames,) float32 of an F0 track in Hz (0 = unvoiced), linearly interpolated
    across unvoiced frames and held at the ends, clipped to F0_MIN..F0_MAX, cut or padded to
    the mel's frames; an utterance with no voiced frame is flat at the range's centre."""
    f0 = np.asarray(f0, dtype=np.float64)[:n_frames]
    voiced = np.flatnonzero(f0 > 0)
    if not len(voiced):
        return np.full(n_frames, _LOG_F0_CENTRE, dtype=np.float32)
    log_f0 = np.log(np.clip(f0[voiced], F0_MIN, F0_MAX))
    return np.interp(np.arange(n_frames), voiced, log_f0).astype(np.float32)


def normalise_log_f0(log_f0: Tensor) -> Tensor:
    """ln F0 -> [-1, 1] over F0_MIN..F0_MAX."""
    return (log_f0 - _LOG_F0_CENTRE) / _LOG_F0_HALF_RANGE


def semitones_to_normalised(semitones: float) -> float:
    """A pitch shift in semitones in normalised pitch units."""
    return semitones * math.log(2.0) / 12.0 / _LOG_F0_HALF_RANGE


@dataclass(frozen=True)
class VarianceControls:
    """Per-synthesis prosody: shift of the predicted pitch in semitones, and the pitch range
    (the contour's deviations from its utterance mean, scaled; 1 = as predicted, 0 = monotone)."""

    pitch_shift: float = 0.0
    pitch_range: float = 1.0

    @property
    def is_default(self) -> bool:
        return self.pitch_shift == 0.0 and self.pitch_range == 1.0


AS_PREDICTED = VarianceControls()  # the default: the pitch as the model predicts it


class VariancePredictor(nn.Module):
    """(detached text states (B, C, N), mask (B, 1, N)) -> values (B, n_out, N); residual conv
    blocks, dilated (1, 2, 4, ...) at frame level so that a contour sees whole syllables."""

    def __init__(self, in_channels: int, channels: int, n_out: int, kernel: int, layers: int,
                 dilated: bool) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_channels, channels, 1)
        self.blocks = nn.ModuleList(ResConvBlock(channels, kernel,
                                                 dilation=2 ** i if dilated else 1)
                                    for i in range(layers))
        self.norm = ChannelLayerNorm(channels)
        self.out = nn.Conv1d(channels, n_out, 1)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        x = self.inp(h * mask) * mask
        for block in self.blocks:
            x = block(x, mask)
        return self.out(torch.nn.functional.silu(self.norm(x)) * mask) * mask


class VarianceEmbedding(nn.Module):
    """Values (B, n_var, T) -> (B, channels, T), continuous or quantised."""

    def __init__(self, names: tuple[str, ...], channels: int, embedding: str) -> None:
        super().__init__()
        self.embedding = embedding
        if embedding == "continuous":
            self.conv = nn.Conv1d(len(names), channels, 3, padding=1)
        else:
            self.tables = nn.ModuleList(nn.Embedding(N_BINS, channels) for _ in names)
            for table in self.tables:
                nn.init.normal_(table.weight, 0.0, channels ** -0.5)
            self.register_buffer("edges", torch.stack([
                torch.linspace(*_RANGES[name], N_BINS - 1) for name in names]), persistent=False)

    def forward(self, values: Tensor, mask: Tensor) -> Tensor:
        if self.embedding == "continuous":
            return self.conv(values * mask) * mask
        out = 0.0
        for i, table in enumerate(self.tables):
            bins = torch.bucketize(values[:, i].contiguous(), self.edges[i])
            out = out + table(bins).transpose(1, 2)
        return out * mask


@dataclass
class VarianceOutput:
    """What the adaptor adds to the frames, and its training terms."""

    embedded: Tensor            # (B, channels, T) added to the expanded text states
    predicted: Tensor           # (B, n_var, N) at the predictor's level (N = L or T)
    loss: Tensor | None = None  # MSE of the prediction against the recordings' values
    terms: dict[str, Tensor] | None = None


class VarianceAdaptor(nn.Module):
    """Pitch (and energy) predictor and embedding; see the module docstring."""

    def __init__(self, channels: int, predictor_channels: int, level: str, embedding: str,
                 energy: bool, kernel: int = 3, layers: int = 3) -> None:
        super().__init__()
        self.level = level
        self.names: tuple[str, ...] = ("pitch", "energy") if energy else ("pitch",)
        self.predictor = VariancePredictor(channels, predictor_channels, len(self.names), kernel,
                                           layers, dilated=level == "frame")
        self.embed = VarianceEmbedding(self.names, channels, embedding)

    def targets(self, log_f0: Tensor | None, mels: Tensor) -> Tensor:
        """The recordings' values per frame (B, n_var, T) from ln F0 (B, T) and standardised mels
        (B, n_mels, T)."""
        if log_f0 is None:
            raise UserInputError(
                "this model predicts pitch, but the batch has no F0: the feature dump has no "
                "pitch/ folder; rerun `tts-ebm prepare features` (it keeps the mels and adds it)")
        values = [normalise_log_f0(log_f0)]
        if "energy" in self.names:
            values.append(mels.mean(dim=1))
        return torch.stack(values, dim=1)

    def forward(self, hidden: Tensor, states: Tensor, token_mask: Tensor, path: Tensor,
                frame_mask: Tensor, target: Tensor | None = None,
                controls: VarianceControls = AS_PREDICTED,
                window: tuple[Tensor, Tensor] | None = None) -> VarianceOutput:
        """hidden (B, C, L) encoder states, states = expand(hidden, path) (B, C, T) the same
        along the alignment path (B, L, T), as the prior decoder reads them; `target`
        (B, n_var, T) the recordings' values in training (teacher forcing + loss), None at
        inference. `window` (frame indices (B, S), validity (B, 1, S)): in training, the
        frame-level predictor is regressed on these frames only (the embedding still covers
        every frame), which keeps its cost per step independent of utterance length."""
        frame_level = self.level == "frame"
        mask = frame_mask if frame_level else token_mask
        source = states if frame_level else hidden
        if frame_level and target is not None and window is not None:
            index, valid = window
            mask = valid.to(frame_mask.dtype) * gather_frames(frame_mask, index)
            source = gather_frames(source, index)
        predicted = self.predictor(source.detach(), mask)
        if target is None:
            values = _apply_controls(predicted, mask, controls)
            values = values if frame_level else expand(values, path)
            return VarianceOutput(self.embed(values, frame_mask), predicted)
        # teacher forcing: every frame gets the recordings' values (per token: their means)
        if frame_level:
            embedded = self.embed(target * frame_mask, frame_mask)
            if window is not None:
                target = gather_frames(target, window[0])
        else:
            frames_per_token = path.sum(-1).clamp(min=1)[:, None, :]
            target = torch.matmul(target * frame_mask, path.transpose(1, 2)) / frames_per_token
            embedded = self.embed(expand(target * mask, path), frame_mask)
        errors = (predicted - target) ** 2 * mask
        terms = {name: errors[:, i].sum() / mask.sum() for i, name in enumerate(self.names)}
        return VarianceOutput(embedded, predicted, loss=sum(terms.values()), terms=terms)


def _apply_controls(values: Tensor, mask: Tensor, controls: VarianceControls) -> Tensor:
    """The pitch row shifted and its range scaled around each utterance's mean pitch."""
    if controls.is_default:
        return values
    pitch = values[:, :1]
    mean = (pitch * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True).clamp(min=1)
    pitch = mean + controls.pitch_range * (pitch - mean)
    pitch = pitch + semitones_to_normalised(controls.pitch_shift)
    return torch.cat([pitch * mask, values[:, 1:]], dim=1)

"""The acoustic model as one exportable forward: token ids and start noise to a raw log-mel.

`AcousticGraph` is what `acoustic.onnx` computes, written as a plain module so that
`torch.export` can trace it: the text encoder, durations, μ (with the pitch/energy variance
adaptor when the model has one), then the checkpoint's sampler unrolled for a fixed K (each
step's field value, ∇ₓE for an energy, is traced into the graph), and the mel statistics.
It follows `AcousticModel.generate` and `Sampler.__call__` for one utterance (batch 1, no
padding), so that a given noise gives the mel PyTorch gives.

Noise: the frame count T depends on the predicted durations, so the graph takes noise of any
length ≥ T and uses its first T frames. A caller that draws noise frame by frame (frame-major)
gets, for one seed, the same first T frames whatever length it draws, so results depend on
the seed alone; `max_frames` gives the length that always suffices.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from tts_ebm.errors import UserInputError
from tts_ebm.model.acoustic import MAX_TOKEN_FRAMES, AcousticModel
from tts_ebm.model.alignment import path_from_durations
from tts_ebm.samplers import Sampler

EXPORTABLE_FIELDS = ("energy", "timed_energy", "velocity", "x_prediction")


def max_frames(n_tokens: int, length_scale: float) -> int:
    """The most frames `n_tokens` tokens can ask for: every duration at its cap."""
    return n_tokens * math.ceil(MAX_TOKEN_FRAMES * length_scale)


def check_exportable(sampler: Sampler, sampler_name: str) -> None:
    """Refuse, by name, sampler settings a fixed graph cannot run: per-step noise (langevin,
    annealed), early stopping (tol), candidate reranking, gradient clipping."""
    problems = []
    if any(scale > 0 for scale in sampler.noise_scales()):
        problems.append("it adds noise at every step")
    if sampler.tol is not None:
        problems.append(f"tol {sampler.tol} stops early (a data-dependent step count)")
    if sampler.n_candidates != 1:
        problems.append(f"n_candidates {sampler.n_candidates} reranks several starts")
    if sampler.grad_clip is not None:
        problems.append(f"grad_clip {sampler.grad_clip} is not exported")
    if problems:
        raise UserInputError(f"the {sampler_name!r} sampler cannot be exported to ONNX: "
                             + "; ".join(problems) + " (gd, euler and ve_euler without those "
                             "options can)")


class PriorGraph(nn.Module):
    """(tokens (1, N) int64, length_scale ()) -> μ (1, n_mels, T) standardised, durations
    (1, N) int64: `AcousticModel.generate` up to the sampler."""

    def __init__(self, model: AcousticModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: Tensor, length_scale: Tensor) -> tuple[Tensor, Tensor]:
        model = self.model
        lengths = torch.ones(1, dtype=torch.long, device=tokens.device) * tokens.shape[1]
        encoded = model.encoder(tokens, lengths)
        frames = torch.exp(encoded.log_durations).clamp(max=MAX_TOKEN_FRAMES)
        durations = torch.ceil(frames * length_scale).clamp(min=1).squeeze(1).long()
        n_frames = durations.sum().item()
        torch._check(n_frames >= 1)
        mask = torch.ones(1, 1, n_frames, dtype=encoded.mu.dtype, device=tokens.device)
        mu = model.frame_prior(encoded, path_from_durations(durations, n_frames), mask).mu
        return mu, durations


class StepsGraph(nn.Module):
    """(μ (1, n_mels, T), noise (1, n_mels, T), mask (1, 1, T), temperature ()) -> raw log-mel
    (1, n_mels, T): K unrolled sampler steps from μ + τ·noise. T must be a multiple of
    2^frame_levels (`padded_frames`): the frame network's own padding is a branch on T that
    export cannot keep, so callers pad μ and noise with zeros and mask the padding."""

    def __init__(self, model: AcousticModel, sampler: Sampler, mel_mean: Tensor,
                 mel_std: Tensor) -> None:
        super().__init__()
        self.field = model.field
        self.schedule = list(zip(sampler.step_sizes(), sampler.times()))
        self.register_buffer("mel_mean", mel_mean.detach().view(1, -1, 1).float())
        self.register_buffer("mel_std", mel_std.detach().view(1, -1, 1).float())

    def forward(self, mu: Tensor, noise: Tensor, mask: Tensor, temperature: Tensor) -> Tensor:
        x = mu + temperature * noise * mask
        for eta, t in self.schedule:
            time = torch.full((1,), t, dtype=x.dtype, device=x.device)
            x = x - eta * self.field.evaluate(x, mu, mask, time).vector
        return x * self.mel_std + self.mel_mean

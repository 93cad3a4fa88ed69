"""The acoustic model as two exportable forwards, written as plain modules for torch.export.

`PriorGraph` (prior.onnx) is `AcousticModel.generate` up to the sampler: the text encoder,
durations and μ (with the pitch/energy variance adaptor when the model has one). `StepsGraph`
(steps.onnx) is `Sampler.__call__` unrolled for a fixed K from μ + τ·noise (each step's field
value, ∇ₓE for an energy, is traced into the graph), then the mel statistics. Both are for one
utterance (batch 1), so that a given noise gives the mel PyTorch gives.

Why the split at μ: the frame count T is data-dependent (the durations); inside one graph it
is a symbol torch.export cannot carry through the frame network's down-sampling. As the input
length of `StepsGraph` it is an ordinary dynamic dimension, and the caller draws the noise once
T is known (tts_ebm/export/onnx_export.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tts_ebm.errors import UserInputError
from tts_ebm.model.acoustic import MAX_TOKEN_FRAMES, AcousticModel
from tts_ebm.model.alignment import path_from_durations
from tts_ebm.samplers import Sampler


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
    2^frame_levels: the frame network's own padding is a branch on T that export cannot keep,
    so callers pad μ and noise with zero frames and mask them out, as that padding does."""

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

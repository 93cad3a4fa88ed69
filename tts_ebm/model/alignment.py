"""Masks, monotonic alignment search, length regulation (Glow-TTS / Grad-TTS) and random
frame windows."""

from __future__ import annotations

import math

import torch
from monotonic_alignment_search import maximum_path
from torch import Tensor


def sequence_mask(lengths: Tensor, max_length: int | None = None) -> Tensor:
    """(B,) lengths -> (B, T) bool mask, True on valid positions."""
    max_length = int(lengths.max()) if max_length is None else max_length
    return torch.arange(max_length, device=lengths.device)[None, :] < lengths[:, None]


def gaussian_log_likelihood(mu: Tensor, y: Tensor) -> Tensor:
    """log N(y_t; mu_l, I) for every token l and frame t: (B,D,L), (B,D,T) -> (B,L,T)."""
    d = mu.shape[1]
    return (
        -0.5 * (mu * mu).sum(1).unsqueeze(-1)
        + torch.matmul(mu.transpose(1, 2), y)
        - 0.5 * (y * y).sum(1).unsqueeze(1)
        - 0.5 * d * math.log(2 * math.pi)
    )


@torch.no_grad()
def monotonic_alignment(mu: Tensor, y: Tensor, token_mask: Tensor, frame_mask: Tensor) -> Tensor:
    """Most likely monotonic hard alignment of frames to tokens, (B, L, T) 0/1.

    mu (B,D,L) per-token means, y (B,D,T) target, masks (B,1,L) / (B,1,T). Every valid
    token gets at least one frame, so each utterance needs at least as many frames as tokens.
    """
    n_tokens = token_mask.sum((1, 2))
    n_frames = frame_mask.sum((1, 2))
    short = torch.nonzero(n_frames < n_tokens).flatten().tolist()
    if short:
        raise ValueError(
            f"cannot align: batch items {short} have fewer mel frames than tokens "
            f"(frames {n_frames[short].tolist()}, tokens {n_tokens[short].tolist()})"
        )
    attn_mask = token_mask.transpose(1, 2) * frame_mask  # (B, L, T)
    log_likelihood = gaussian_log_likelihood(mu.float(), y.float())
    return maximum_path(log_likelihood, attn_mask.float()).to(mu.dtype)


def path_from_durations(durations: Tensor, n_frames: int) -> Tensor:
    """Integer durations (B, L) -> hard alignment (B, L, T) with T = n_frames."""
    ends = torch.cumsum(durations, dim=1)
    starts = ends - durations
    t = torch.arange(n_frames, device=durations.device)[None, None, :]
    return ((t >= starts[..., None]) & (t < ends[..., None])).float()


def expand(h: Tensor, path: Tensor) -> Tensor:
    """Repeat per-token features along an alignment: (B,C,L), (B,L,T) -> (B,C,T)."""
    return torch.matmul(h, path.to(h.dtype))


def random_segments(lengths: Tensor, segment_frames: int) -> tuple[Tensor, Tensor]:
    """Frame indices (B, S) of one random window per utterance and its validity mask (B, 1, S).

    Utterances shorter than the window start at 0 and are padded (masked). Offsets come
    from the global torch RNG so that a seeded run is reproducible.
    """
    max_offset = (lengths - segment_frames).clamp(min=0)
    u = torch.rand(lengths.shape[0], device=lengths.device)
    offsets = (u * (max_offset + 1).to(u.dtype)).long().clamp(max=max_offset)
    index = offsets[:, None] + torch.arange(segment_frames, device=lengths.device)[None, :]
    valid = (index < lengths[:, None]).unsqueeze(1)
    return index, valid


def gather_frames(x: Tensor, index: Tensor) -> Tensor:
    """Pick frames index (B, S) from x (B, ..., T); out-of-range indices give zeros' place."""
    index = index.clamp(max=x.shape[-1] - 1)
    shape = (index.shape[0],) + (1,) * (x.dim() - 2) + (index.shape[1],)
    return x.gather(-1, index.view(shape).expand(*x.shape[:-1], index.shape[1]))

"""Ranking noise-contrastive estimation (the 2023 EBM-TTS criterion).

Per utterance: -log[e^{-E(x)} / (e^{-E(x)} + sum_k e^{-E(x~_k)})] + alpha (E+^2 + mean_k E-_k^2),
with every E divided by the number of valid frames so that long and short utterances weigh the
same. Negatives, mixable by count (`sources`):
  gaussian  x + sigma*eps, sigma drawn per negative from a geometric ladder;
  prior     mu + tau*eps;
  model     short-run gradient descent of the current model from mu + tau*eps (detached);
  dir       the `negatives` tensor (B, K, D, T) passed in, e.g. another system's mels.
Only first-order gradients are needed: the loss uses energies, not scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from tts_ebm.criteria.base import Criterion, EnergyFn, Logs, geometric_ladder, randn_like_masked
from tts_ebm.errors import UserInputError

SOURCES = ("gaussian", "prior", "model", "dir")


def _default_sources() -> dict[str, int]:
    return {"gaussian": 2, "prior": 1, "model": 1, "dir": 0}


@dataclass
class NCE(Criterion):
    """sources: counts per negative source; alpha: energy regulariser weight; sigma_*: ladder of
    the gaussian source; temperature: tau of prior/model starts; model_steps/model_step_size:
    the short-run gradient descent of the model source."""

    sources: dict[str, int] = field(default_factory=_default_sources)
    alpha: float = 0.01
    sigma_min: float = 0.05
    sigma_max: float = 1.0
    n_sigmas: int = 5
    temperature: float = 1.0
    model_steps: int = 5
    model_step_size: float = 0.1

    def __post_init__(self) -> None:
        unknown = sorted(set(self.sources) - set(SOURCES))
        if unknown:
            raise UserInputError(
                f"nce sources {unknown} unknown; valid sources: {', '.join(SOURCES)}"
            )
        if any(int(c) != c or c < 0 for c in self.sources.values()):
            raise UserInputError(
                f"nce source counts must be non-negative integers, got {self.sources}"
            )
        if sum(self.sources.values()) < 1:
            raise UserInputError("nce needs at least one negative; all source counts are 0")

    def make_negatives(
        self, energy_fn: EnergyFn, x: Tensor, mu: Tensor, mask: Tensor, negatives: Tensor | None
    ) -> Tensor:
        """(B, K, D, T) detached negatives, sources in the order of SOURCES."""
        from tts_ebm import samplers  # local: samplers do not depend on criteria

        x, mu = x.detach(), mu.detach()
        out: list[Tensor] = []
        ladder = torch.tensor(
            geometric_ladder(self.sigma_min, self.sigma_max, self.n_sigmas),
            dtype=x.dtype,
            device=x.device,
        )
        for _ in range(self.sources.get("gaussian", 0)):
            sigma = ladder[torch.randint(len(ladder), (x.shape[0],), device=x.device)].view(
                -1, 1, 1
            )
            out.append(x + sigma * randn_like_masked(x, mask))
        for _ in range(self.sources.get("prior", 0)):
            out.append(mu + self.temperature * randn_like_masked(mu, mask))
        n_model = self.sources.get("model", 0)
        if n_model:
            sampler = samplers.build(
                "gd",
                steps=self.model_steps,
                step_size=self.model_step_size,
                temperature=self.temperature,
            )
            reps = sampler.sample(energy_fn, mu.repeat(n_model, 1, 1), mask.repeat(n_model, 1, 1))[
                0
            ]
            out.extend(reps.view(n_model, *x.shape).unbind(0))
        n_dir = self.sources.get("dir", 0)
        if n_dir:
            if negatives is None:
                raise UserInputError(
                    "nce source 'dir' requested but no negatives were passed (B, K, D, T)"
                )
            if (
                negatives.shape[1] < n_dir
                or negatives.shape[0] != x.shape[0]
                or negatives.shape[2:] != x.shape[1:]
            ):
                raise UserInputError(
                    f"nce source 'dir' needs negatives of shape ({x.shape[0]}, >={n_dir}, "
                    f"{x.shape[1]}, {x.shape[2]}), got {tuple(negatives.shape)}"
                )
            out.extend(negatives[:, :n_dir].detach().unbind(1))
        return torch.stack(out, dim=1)

    def __call__(
        self,
        energy_fn: EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        negs = self.make_negatives(energy_fn, x, mu, mask, negatives)
        batch, k = negs.shape[:2]
        # one energy call: positives first, then negative j of every utterance
        xs = torch.cat([x.unsqueeze(1), negs], dim=1).transpose(0, 1).reshape(-1, *x.shape[1:])
        energies = energy_fn(xs, mu.repeat(k + 1, 1, 1), mask.repeat(k + 1, 1, 1)).view(
            k + 1, batch
        )
        frames = mask.sum(dim=(1, 2)).clamp_min(1.0)
        per_frame = (energies / frames).transpose(0, 1)  # (B, 1 + K)
        nll = (torch.logsumexp(-per_frame, dim=1) + per_frame[:, 0]).mean()
        reg = self.alpha * (per_frame[:, 0] ** 2 + (per_frame[:, 1:] ** 2).mean(dim=1)).mean()
        loss = nll + reg
        logs = {
            "nce": nll.detach(),
            "nce_reg": reg.detach(),
            "energy_pos": per_frame[:, 0].mean().detach(),
            "energy_neg": per_frame[:, 1:].mean().detach(),
            "nce_acc": (per_frame[:, 1:].min(dim=1).values > per_frame[:, 0])
            .float()
            .mean()
            .detach(),
        }
        return loss, logs

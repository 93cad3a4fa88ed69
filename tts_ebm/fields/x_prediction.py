"""The x-prediction velocity field: v = (x - x_hat) / t with x_hat = mu + f(x, mu, t).

The flow-matching peer in the form that starts where the energy starts. On the path
x_t = (1 - t) x + t z the velocity z - x equals (x_t - x) / t, so a network that predicts the
data x_hat gives the velocity v = (x_t - x_hat) / t (x-prediction, as in "Back to Basics: Let
Denoising Generative Models Denoise", Li & He 2025). With f zero-initialised, x_hat = mu: K Euler
steps from any start sample then land exactly on mu (each step scales x - mu by t_{k+1} / t_k),
as the quadratic energy's gradient descent does, where the plain `velocity` field starts from
v = 0 and keeps all the start noise. The output covers every mel bin whatever the width.
The division uses max(t, T_MIN): near the data end the plain 1/t would amplify the network's
error without bound (the same clamp as Li & He's). Trained by `fm` (or `delta`), sampled by
`euler`; no energy.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from tts_ebm.fields.velocity import VelocityField


class XPredictionField(VelocityField):
    """v(x, mu, t) = (x - mu - f(x, mu, t)) / max(t, T_MIN), f the zero-initialised network."""

    T_MIN: ClassVar[float] = 0.05
    description: ClassVar[str] = "an x-prediction field"

    def velocity(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor) -> Tensor:
        x_hat = mu + self.network.frames(x, mu, mask, t)
        scale = t.reshape(-1).expand(x.shape[0]).clamp_min(self.T_MIN).view(-1, 1, 1)
        return (x - x_hat) / scale

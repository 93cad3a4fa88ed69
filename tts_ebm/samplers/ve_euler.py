"""Euler steps of the probability-flow ODE of variance-exploding noise, for noise-conditional dsm.

With sigma = tau * t and the score at sigma read as -g(x, t) / sigma^2 (dsm's
noise_conditional form), the ODE dx/dsigma = g / sigma taken in K Euler steps from sigma_0 = tau
to 0 on t_k = 1 - k/K is x_{k+1} = x_k - (1 - t_{k+1} / t_k) g(x_k, t_k) (DDIM; Karras et al.
2022's deterministic sampler): step sizes 1/(K t_k), independent of tau, the last one 1 (the
Tweedie denoising step x - g). Start noise tau should be dsm's sigma_max. On a field whose g is
x - mu (the quadratic energy's start) every step scales x - mu by t_{k+1} / t_k: it lands on mu.
"""

from __future__ import annotations

from dataclasses import dataclass

from tts_ebm.samplers.euler import Euler


@dataclass
class VEEuler(Euler):
    """K steps on the uniform time grid of `euler`, with step sizes 1/(K t_k)."""

    def step_sizes(self) -> list[float]:
        return [1.0 / (self.steps * t) for t in self.times()]

"""Samplers on quadratic energies with known minima and stationary laws."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tts_ebm import samplers
from tts_ebm.errors import UserInputError

S2 = 0.5  # curvature 1/S2 of the quadratic


def quadratic(x: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """E = 1/2 sum_valid (x - mu - 1)^2 / S2: minimum at mu + 1, Boltzmann law N(mu + 1, S2)."""
    return (0.5 * (x - mu - 1.0) ** 2 / S2 * mask).sum(dim=(1, 2))


def inputs(batch: int = 4, dim: int = 3, frames: int = 5):
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(batch, dim, frames, generator=g)
    x0 = mu + 2 * torch.randn(batch, dim, frames, generator=g)
    mask = torch.ones(batch, 1, frames)
    mask[1, :, 3:] = 0
    return x0, mu, mask


def test_gd_decreases_energy_and_reaches_minimum():
    x0, mu, mask = inputs()
    x, trace = samplers.build("gd", steps=40, step_size=0.3 * S2)(quadratic, x0, mu, mask)
    assert trace.energies.shape == (41, 4) and trace.grad_norms.shape == (40, 4)
    assert trace.steps_taken == 40
    assert (trace.energies[1:] < trace.energies[:-1]).all()
    valid = mask.expand_as(x) > 0
    assert torch.allclose(x[valid], (mu + 1)[valid], atol=1e-5)
    assert torch.equal(x[~valid], x0[~valid])  # padded frames do not move


def test_one_over_k_and_linear_schedule():
    assert samplers.build("gd", steps=4).step_sizes() == [0.25] * 4
    assert samplers.build(
        "gd", steps=3, step_size=0.3, step_size_end=0.1
    ).step_sizes() == pytest.approx([0.3, 0.2, 0.1])
    # step S2 lands on the minimum of the quadratic in one step
    x0, mu, mask = inputs()
    x, _ = samplers.build("gd", steps=1, step_size=S2)(quadratic, x0, mu, mask)
    valid = mask.expand_as(x) > 0
    assert torch.allclose(x[valid], (mu + 1)[valid], atol=1e-6)


def test_langevin_with_zero_noise_equals_gd():
    x0, mu, mask = inputs()
    gd = samplers.build("gd", steps=7, step_size=0.1)(quadratic, x0, mu, mask)
    g = torch.Generator().manual_seed(1)
    lv = samplers.build("langevin", steps=7, step_size=0.1, noise_scale=0.0)(
        quadratic, x0, mu, mask, g
    )
    assert torch.equal(gd[0], lv[0]) and torch.equal(gd[1].energies, lv[1].energies)


def test_langevin_samples_the_boltzmann_law():
    """x_{k+1} = (1 - eta/S2) x + sqrt(2 eta) eps has stationary variance S2 / (1 - eta / (2 S2))."""
    mu = torch.zeros(4000, 2, 1)
    mask = torch.ones(4000, 1, 1)
    eta = 0.02
    sampler = samplers.build("langevin", steps=300, step_size=eta, temperature=0.0)
    x, _ = sampler.sample(quadratic, mu, mask, torch.Generator().manual_seed(0))
    assert x.mean().item() == pytest.approx(1.0, abs=0.03)
    assert x.var().item() == pytest.approx(S2 / (1 - eta / (2 * S2)), rel=0.05)


def test_annealed_noise_ladder():
    sampler = samplers.build("annealed", steps=3, noise_max=1.0, noise_min=0.01)
    assert sampler.noise_scales() == pytest.approx([1.0, 0.1, 0.01])
    assert samplers.build("annealed", steps=3, noise_min=0.0).noise_scales() == pytest.approx(
        [1.0, 0.5, 0.0]
    )
    # with the ladder ending near zero the chain settles close to the minimum
    x0, mu, mask = inputs()
    x, _ = samplers.build("annealed", steps=60, step_size=0.1, noise_max=0.5, noise_min=1e-4)(
        quadratic, x0, mu, mask, torch.Generator().manual_seed(0)
    )
    valid = mask.expand_as(x) > 0
    assert (x - mu - 1)[valid].abs().max() < 0.05
    with pytest.raises(UserInputError, match="noise_min"):
        samplers.build("annealed", noise_min=2.0, noise_max=1.0)


def test_early_stop_on_tolerance():
    x0, mu, mask = inputs()
    x, trace = samplers.build("gd", steps=100, step_size=0.5 * S2, tol=1e-3)(
        quadratic, x0, mu, mask
    )
    # the error halves every step: RMS grad = 2^-k * RMS(x0 - mu - 1) / S2 < 1e-3 after ~12 steps
    assert 5 < trace.steps_taken < 20
    assert trace.energies.shape == (trace.steps_taken + 1, 4)
    assert trace.grad_norms.shape == (trace.steps_taken, 4)
    # every utterance ended below tolerance
    _, final = samplers.build("gd", steps=1, step_size=0.0)(quadratic, x, mu, mask)
    assert (final.grad_norms[0] < 1e-3).all()


def test_grad_clip_bounds_each_step():
    x0, mu, mask = inputs()
    x, _ = samplers.build("gd", steps=1, step_size=0.1, grad_clip=0.5)(quadratic, x0, mu, mask)
    assert torch.allclose((x - x0).flatten(1).norm(dim=1), torch.full((4,), 0.05), atol=1e-6)


def test_candidates_keep_lowest_energy_per_frame():
    mu = torch.zeros(3, 2, 6)
    mask = torch.ones(3, 1, 6)
    mask[0, :, 2:] = 0
    n = 8
    sampler = samplers.build("gd", steps=0, temperature=1.5, n_candidates=n)
    x, trace = sampler.sample(quadratic, mu, mask, torch.Generator().manual_seed(5))
    # redraw the same starts and pick by hand
    eps = torch.randn(n * 3, 2, 6, generator=torch.Generator().manual_seed(5))
    starts = (mu.repeat(n, 1, 1) + 1.5 * eps * mask.repeat(n, 1, 1)).view(n, 3, 2, 6)
    energies = torch.stack([quadratic(starts[c], mu, mask) for c in range(n)])  # (n, B)
    best = energies.argmin(dim=0)
    assert torch.equal(x, starts[best, torch.arange(3)])
    assert torch.allclose(trace.energies[0], energies.min(dim=0).values)
    assert torch.equal(x[0, :, 2:], mu[0, :, 2:])  # padded frames stay at mu


def test_seed_reproducibility():
    mu = torch.zeros(2, 3, 4)
    mask = torch.ones(2, 1, 4)
    sampler = samplers.build("langevin", steps=5, step_size=0.05, n_candidates=3)
    a, _ = sampler.sample(quadratic, mu, mask, torch.Generator().manual_seed(7))
    b, _ = sampler.sample(quadratic, mu, mask, torch.Generator().manual_seed(7))
    c, _ = sampler.sample(quadratic, mu, mask, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_graph_kept_and_inputs_untouched():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.SiLU(), nn.Linear(16, 1))
    calls = []

    def energy_fn(x, mu, mask):
        calls.append(x)
        return (net(x.transpose(1, 2)).squeeze(-1) * mask[:, 0]).sum(dim=1)

    x0, mu, mask = inputs()
    mu = mu.requires_grad_(True)
    before = (x0.clone(), mu.detach().clone(), mask.clone())
    x, trace = samplers.build("langevin", steps=6, step_size=0.05)(
        energy_fn, x0, mu, mask, torch.Generator().manual_seed(0)
    )
    assert not x.requires_grad and x.grad_fn is None
    assert not trace.energies.requires_grad and not trace.grad_norms.requires_grad
    # every energy call saw a fresh leaf, so no graph links one step to the next
    assert all(c.grad_fn is None for c in calls)
    assert (
        torch.equal(x0, before[0])
        and torch.equal(mu.detach(), before[1])
        and torch.equal(mask, before[2])
    )
    assert all(p.grad is None for p in net.parameters())


def test_zero_steps_and_registry_errors():
    x0, mu, mask = inputs()
    x, trace = samplers.build("gd", steps=0)(quadratic, x0, mu, mask)
    assert torch.equal(x, x0) and trace.energies.shape == (1, 4) and trace.steps_taken == 0
    assert samplers.names() == ["annealed", "euler", "gd", "langevin", "ve_euler"]
    with pytest.raises(UserInputError, match="annealed, euler, gd, langevin"):
        samplers.build("hmc")
    with pytest.raises(UserInputError, match="valid options: steps, step_size"):
        samplers.build("gd", noise_scale=1.0)
    with pytest.raises(UserInputError, match="1/K"):
        samplers.build("gd", step_size="1/k")


@pytest.mark.parametrize("steps", [1, 2, 4, 10])
def test_ve_euler_denoises_a_point_mass_and_a_fresh_quadratic_energy_lands_on_mu(steps):
    """Steps 1/(K t_k), the last one the Tweedie step x - g: on the exact noise predictor of a
    point mass x* (g = x - x* at every sigma) the K steps land on x*, and on the quadratic
    energy's starting point E = 1/2 ||x - mu||^2 (g = x - mu) on mu."""
    sampler = samplers.build("ve_euler", steps=steps, temperature=1.5)
    times = [1 - k / steps for k in range(steps)]
    assert sampler.times() == times
    assert sampler.step_sizes() == pytest.approx([1 / (steps * t) for t in times])
    assert sampler.step_sizes()[-1] == pytest.approx(1.0)
    mu, mask = torch.randn(2, 3, 5, dtype=torch.float64), torch.ones(2, 1, 5, dtype=torch.float64)
    target = 2 * mu - 1

    def point_mass(x, mu, mask):
        return 0.5 * (((x - (2 * mu - 1)) * mask) ** 2).sum((1, 2))

    def fresh(x, mu, mask):
        return 0.5 * (((x - mu) * mask) ** 2).sum((1, 2))

    generator = torch.Generator().manual_seed(steps)
    torch.testing.assert_close(sampler.sample(point_mass, mu, mask, generator)[0], target)
    torch.testing.assert_close(sampler.sample(fresh, mu, mask, generator)[0], mu)

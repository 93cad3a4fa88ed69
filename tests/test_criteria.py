"""Criteria against closed forms on a Gaussian energy, masking, gradients and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize
from torch import nn

from tts_ebm import criteria
from tts_ebm.errors import UserInputError
from tts_ebm.fields import Field, FieldValue

M0, S0 = 0.5, 0.8  # data: x = mu + N(M0, S0^2) per element


class GaussianEnergy(nn.Module):
    """E = 1/2 sum_valid (x - mu - m)^2 / s^2 with learnable m, s."""

    def __init__(self, m: float, s: float) -> None:
        super().__init__()
        self.m = nn.Parameter(torch.tensor(float(m), dtype=torch.float64))
        self.log_s = nn.Parameter(torch.tensor(math.log(s), dtype=torch.float64))

    def forward(self, x: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s2 = torch.exp(2 * self.log_s)
        return (0.5 * (x - mu - self.m) ** 2 / s2 * mask).sum(dim=(1, 2))


def data(batch: int = 4096, dim: int = 4, frames: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, dim, frames, generator=g, dtype=torch.float64)
    x = mu + M0 + S0 * torch.randn(batch, dim, frames, generator=g, dtype=torch.float64)
    mask = torch.ones(batch, 1, frames, dtype=torch.float64)
    return x, mu, mask


def loss_at(crit, m: float, s: float, x, mu, mask, seed: int = 1) -> float:
    """Loss with common random numbers, so that values at different parameters compare exactly."""
    torch.manual_seed(seed)
    return crit(GaussianEnergy(m, s), x, mu, mask)[0].item()


# ---------------------------------------------------------------- DSM


def dsm_expected(m: float, s: float, sigma: float) -> float:
    """E (sigma g(x + sigma eps) - eps)^2 per element with g = (x~ - mu - m)/s^2."""
    a = sigma / s**2
    return a**2 * S0**2 + a**2 * (M0 - m) ** 2 + (a * sigma - 1) ** 2


def test_dsm_matches_closed_form():
    x, mu, mask = data()
    crit = criteria.build("dsm", sigma=0.5)
    got = loss_at(crit, 0.2, 1.1, x, mu, mask)
    assert got == pytest.approx(dsm_expected(0.2, 1.1, 0.5), rel=0.02)


def test_dsm_is_minimal_at_smoothed_truth():
    x, mu, mask = data()
    sigma = 0.5
    crit = criteria.build("dsm", sigma=sigma)
    s_true = math.sqrt(S0**2 + sigma**2)  # data convolved with the noise kernel
    best = loss_at(crit, M0, s_true, x, mu, mask)
    for m, s in [(M0 + 0.2, s_true), (M0 - 0.2, s_true), (M0, s_true * 1.2), (M0, s_true / 1.2)]:
        assert loss_at(crit, m, s, x, mu, mask) > best


class SmoothedGaussianNoise(Field):
    """The exact noise-conditional dsm field for data mu + N(M0, S0^2): at sigma = sigma_max t
    it predicts the noise, g = sigma^2 / (S0^2 + sigma^2) (x~ - mu - M0); `time_blind` always
    takes t = 1 (a field that is not told the noise level)."""

    def __init__(self, sigma_max: float, time_blind: bool = False) -> None:
        super().__init__()
        self.sigma_max, self.time_blind = sigma_max, time_blind

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False):
        sigma2 = (self.sigma_max * (torch.ones_like(t) if self.time_blind else t)) ** 2
        g = sigma2.view(-1, 1, 1) / (S0**2 + sigma2.view(-1, 1, 1)) * (x - mu - M0) * mask
        return FieldValue(g, torch.full((x.shape[0],), float("nan"), dtype=x.dtype))


def test_noise_conditional_dsm_is_minimal_at_the_exact_denoiser():
    """At the exact denoiser the loss is the irreducible S0^2 / (S0^2 + sigma^2), averaged over
    sigma log-uniform in [sigma_min, sigma_max]; a field not told sigma does worse."""
    x, mu, mask = data(batch=16384)
    crit = criteria.build("dsm", sigma_min=0.1, sigma_max=2.0, noise_conditional=True)
    log_lo, log_hi = math.log(0.1), math.log(2.0)
    want = integrate.quad(lambda u: S0**2 / (S0**2 + math.exp(2 * u)), log_lo, log_hi)[0] / (
        log_hi - log_lo)
    torch.manual_seed(0)
    got = crit(SmoothedGaussianNoise(2.0), x, mu, mask)[0].item()
    assert got == pytest.approx(want, rel=0.02)
    torch.manual_seed(0)
    assert crit(SmoothedGaussianNoise(2.0, time_blind=True), x, mu, mask)[0].item() > 1.3 * want
    sigmas = crit.draw_sigmas(100_000, x).flatten().log()
    assert sigmas.min() >= log_lo and sigmas.max() <= log_hi
    assert sigmas.mean().item() == pytest.approx((log_lo + log_hi) / 2, abs=0.01)


def test_dsm_ladder_is_geometric():
    crit = criteria.build("dsm", sigma_min=0.01, sigma_max=1.0, n_sigmas=3)
    assert crit.sigmas() == pytest.approx([1.0, 0.1, 0.01])
    x, mu, mask = data(batch=8192)
    torch.manual_seed(0)
    # every level is used: the expectation is the ladder average
    want = np.mean([dsm_expected(0.3, 0.9, s) for s in crit.sigmas()])
    assert crit(GaussianEnergy(0.3, 0.9), x, mu, mask)[0].item() == pytest.approx(want, rel=0.03)


# ---------------------------------------------------------------- SSM


def hyvarinen_expected(m: float, s: float) -> float:
    """Per element: tr(grad s) + 1/2 ||s||^2 = -1/s^2 + 1/2 E(x - m)^2 / s^4."""
    return -1 / s**2 + 0.5 * (S0**2 + (M0 - m) ** 2) / s**4


def test_ssm_vr_rademacher_is_exact_hyvarinen():
    x, mu, mask = data(batch=64)
    m, s = 0.1, 1.3
    loss, logs = criteria.build("ssm", variant="vr", projection="rademacher")(
        GaussianEnergy(m, s), x, mu, mask
    )
    direct = -1 / s**2 + 0.5 * ((x - mu - m) ** 2).mean().item() / s**4
    assert loss.item() == pytest.approx(direct, rel=1e-10)
    assert logs["ssm_trace"].item() == pytest.approx(-1 / s**2, rel=1e-10)


@pytest.mark.parametrize("variant", ["plain", "vr"])
def test_ssm_gaussian_projections_match_expectation(variant):
    x, mu, mask = data()
    crit = criteria.build("ssm", variant=variant, projection="gaussian", n_projections=2)
    assert loss_at(crit, 0.1, 1.3, x, mu, mask) == pytest.approx(
        hyvarinen_expected(0.1, 1.3), rel=0.03
    )


def test_ssm_is_minimal_at_truth():
    x, mu, mask = data()
    crit = criteria.build("ssm", variant="plain", projection="rademacher")
    best = loss_at(crit, M0, S0, x, mu, mask)
    for m, s in [(M0 + 0.2, S0), (M0 - 0.2, S0), (M0, S0 * 1.15), (M0, S0 / 1.15)]:
        assert loss_at(crit, m, s, x, mu, mask) > best


def test_ssm_data_noise_shifts_optimum():
    x, mu, mask = data()
    crit = criteria.build("ssm", projection="rademacher", sigma=0.6)
    s_smooth = math.sqrt(S0**2 + 0.36)
    assert loss_at(crit, M0, s_smooth, x, mu, mask) < loss_at(crit, M0, S0, x, mu, mask)


# ---------------------------------------------------------------- delta


def delta_expected(m: float, a: float, tau: float, t0: float | None = None) -> float:
    """E_t E (a (x_t - mu - m) - c(t) (z - x))^2 per element, z = mu + tau eps, t ~ U(0, 1)."""

    def inner(t: float) -> float:
        c = 1.0 if t0 is None else min(1.0, t / t0)
        return (
            (a * (1 - t) * M0 - a * m + c * M0) ** 2
            + S0**2 * (a * (1 - t) + c) ** 2
            + tau**2 * (a * t - c) ** 2
        )

    points = None if t0 is None else [t0]
    return integrate.quad(inner, 0.0, 1.0, points=points)[0]


@pytest.mark.parametrize("target_scale,t0", [("none", None), ("eqm", 0.3)])
def test_delta_matches_closed_form(target_scale, t0):
    x, mu, mask = data(batch=8192)
    opts = {"temperature": 1.5, "target_scale": target_scale}
    if t0 is not None:
        opts["t0"] = t0
    crit = criteria.build("delta", **opts)
    m, s = 0.3, 0.9
    want = delta_expected(m, 1 / s**2, 1.5, t0)
    assert loss_at(crit, m, s, x, mu, mask) == pytest.approx(want, rel=0.03)


def test_delta_optimum_matches_closed_form():
    x, mu, mask = data(batch=8192)
    crit = criteria.build("delta", temperature=1.5)
    res = optimize.minimize(lambda p: delta_expected(p[0], p[1], 1.5), x0=[0.0, 1.0])
    m_opt, a_opt = res.x
    s_opt = 1 / math.sqrt(a_opt)
    best = loss_at(crit, m_opt, s_opt, x, mu, mask)
    for m, s in [
        (m_opt + 0.15, s_opt),
        (m_opt - 0.15, s_opt),
        (m_opt, s_opt * 1.1),
        (m_opt, s_opt / 1.1),
    ]:
        assert loss_at(crit, m, s, x, mu, mask) > best


def test_delta_logit_normal_times_concentrate():
    crit = criteria.build("delta", time_sampling="logit_normal", logit_mean=0.0, logit_std=0.5)
    torch.manual_seed(0)
    t = crit.sample_t(20000, torch.zeros(1))
    assert t.min() > 0 and t.max() < 1
    assert t.mean().item() == pytest.approx(0.5, abs=0.01)
    assert t.std().item() < 1 / math.sqrt(12) * 0.6  # tighter than uniform


# ---------------------------------------------------------------- NCE


def test_nce_matches_manual_formula_with_fixed_negatives():
    x, mu, mask = data(batch=5, dim=3, frames=4)
    mask[1, :, 3:] = 0  # a shorter utterance: energies compared per valid frame
    g = torch.Generator().manual_seed(3)
    negs = x.unsqueeze(1) + torch.randn(5, 3, 3, 4, generator=g, dtype=torch.float64)
    energy = GaussianEnergy(0.2, 0.9)
    alpha = 0.1
    loss, logs = criteria.build("nce", sources={"dir": 2}, alpha=alpha)(energy, x, mu, mask, negs)
    frames = mask.sum(dim=(1, 2))
    with torch.no_grad():
        e_pos = energy(x, mu, mask) / frames
        e_neg = (
            torch.stack([energy(negs[:, k], mu, mask) for k in range(2)], dim=1) / frames[:, None]
        )
    want = 0.0
    for b in range(5):
        p = math.exp(-e_pos[b]) / (math.exp(-e_pos[b]) + sum(math.exp(-e) for e in e_neg[b]))
        want += -math.log(p) + alpha * (e_pos[b] ** 2 + (e_neg[b] ** 2).mean())
    assert loss.item() == pytest.approx(float(want) / 5, rel=1e-10)
    assert logs["energy_pos"].item() == pytest.approx(e_pos.mean().item(), rel=1e-10)


def test_nce_all_sources_and_dir_errors():
    x, mu, mask = data(batch=4, dim=3, frames=2)
    crit = criteria.build("nce", sources={"gaussian": 2, "prior": 1, "model": 1, "dir": 1})
    negs = torch.randn(4, 1, 3, 2, dtype=torch.float64)
    torch.manual_seed(0)
    assert crit.make_negatives(GaussianEnergy(0.0, 1.0), x, mu, mask, negs).shape == (4, 5, 3, 2)
    with pytest.raises(UserInputError, match="dir"):
        crit(GaussianEnergy(0.0, 1.0), x, mu, mask)
    with pytest.raises(UserInputError, match="shape"):
        crit(GaussianEnergy(0.0, 1.0), x, mu, mask, torch.randn(4, 1, 3, 5, dtype=torch.float64))
    with pytest.raises(UserInputError, match="valid sources"):
        criteria.build("nce", sources={"gausian": 1})


def test_nce_prefers_true_energy_over_flat_one():
    x, mu, mask = data(batch=512)
    crit = criteria.build("nce", sources={"gaussian": 4}, alpha=0.0)
    assert loss_at(crit, M0, S0, x, mu, mask) < loss_at(crit, M0, 10.0, x, mu, mask)


# ---------------------------------------------------------------- shared behaviour

ALL = [
    ("delta", {}),
    ("delta", {"target_scale": "eqm", "time_sampling": "logit_normal"}),
    ("dsm", {}),
    ("ssm", {"variant": "plain", "projection": "gaussian"}),
    ("ssm", {"sigma": 0.1}),
    ("nce", {}),
]


@pytest.mark.parametrize("name,opts", ALL)
def test_gradients_reach_energy_parameters(name, opts):
    x, mu, mask = data(batch=16)
    energy = GaussianEnergy(0.1, 1.2)
    torch.manual_seed(0)
    loss, logs = criteria.build(name, **opts)(energy, x, mu, mask)
    assert loss.ndim == 0 and all(v.ndim == 0 for v in logs.values())
    loss.backward()
    assert energy.m.grad.abs() > 0 and energy.log_s.grad.abs() > 0


@pytest.mark.parametrize("name,opts", ALL)
def test_padded_frames_change_nothing(name, opts):
    x, mu, mask = data(batch=6, dim=5, frames=7)
    mask[0, :, 4:] = 0
    mask[3, :, 1:] = 0
    x2, mu2 = x.clone(), mu.clone()
    pad = (mask == 0).expand_as(x)
    x2[pad] = 100.0
    mu2[pad] = -50.0
    results = []
    for xi, mui in [(x, mu), (x2, mu2)]:
        energy = GaussianEnergy(0.1, 1.2)
        torch.manual_seed(0)
        loss, _ = criteria.build(name, **opts)(energy, xi, mui, mask)
        loss.backward()
        results.append((loss.item(), energy.m.grad.item(), energy.log_s.grad.item()))
    assert results[0] == pytest.approx(results[1], rel=1e-9)


@pytest.mark.parametrize("name", criteria.names())
def test_mel_shaped_inputs_with_a_network(name):
    """D=80 with an MLP energy that mixes bins: losses finite and differentiable."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(160, 32), nn.SiLU(), nn.Linear(32, 1))

    def energy_fn(x, mu, mask):
        h = net(torch.cat([x, mu], dim=1).transpose(1, 2)).squeeze(-1)
        return (h * mask[:, 0]).sum(dim=1)

    x, mu = torch.randn(3, 80, 11), torch.randn(3, 80, 11)
    mask = torch.ones(3, 1, 11)
    mask[2, :, 6:] = 0
    loss, _ = criteria.build(name)(energy_fn, x, mu, mask)
    loss.backward()
    assert torch.isfinite(loss)
    # the output bias shifts E without changing grad_x E: score losses cannot see it
    params = list(net.parameters())[:-1] if name != "nce" else list(net.parameters())
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
        for p in params
    )


def test_registry_and_errors():
    assert criteria.names() == ["delta", "dsm", "fm", "nce", "ssm"]
    with pytest.raises(UserInputError, match="delta, dsm, fm, nce, ssm"):
        criteria.build("cd")
    with pytest.raises(
        UserInputError, match=r"'sigmax'.*valid options: sigma_min, sigma_max, n_sigmas, sigma"
    ):
        criteria.build("dsm", sigmax=1.0)
    with pytest.raises(UserInputError, match="variant"):
        criteria.build("ssm", variant="fancy")
    with pytest.raises(UserInputError, match="target_scale"):
        criteria.build("delta", target_scale="big")

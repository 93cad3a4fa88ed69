"""Criteria: option bounds and messages, logged terms, NCE bookkeeping and SSM in closed form
(cases found by mutation testing, docs/mutation.md)."""

from __future__ import annotations

import math
import re

import pytest
import torch

from tts_ebm import criteria
from tts_ebm.criteria.base import geometric_ladder, masked_mean, sample_times
from tts_ebm.errors import UserInputError


def quadratic(x: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """E = 1/2 sum_valid (x - mu)^2: grad x - mu, Hessian I."""
    return (0.5 * (x - mu) ** 2 * mask).sum(dim=(1, 2))


@pytest.mark.parametrize(("name", "options", "message"), [
    ("dsm", {"sigma": 0.0}, "dsm sigma must be > 0, got 0.0"),
    ("dsm", {"sigma_min": 0.0}, "dsm needs 0 < sigma_min <= sigma_max and n_sigmas >= 1, got 0.0"),
    ("dsm", {"sigma_min": 0.5, "sigma_max": 0.4}, "dsm needs 0 < sigma_min <= sigma_max"),
    ("dsm", {"n_sigmas": 0}, "dsm needs 0 < sigma_min <= sigma_max and n_sigmas >= 1"),
    ("fm", {"time_sampling": "beta"}, "fm time_sampling must be one of"),
    ("fm", {"sigma_min": 1.0}, "fm sigma_min must be in [0, 1), got 1.0"),
    ("fm", {"sigma_min": -0.1}, "fm sigma_min must be in [0, 1)"),
    ("fm", {"temperature": 0.0}, "fm temperature must be > 0, got 0.0"),
    ("delta", {"time_sampling": "beta"}, "delta time_sampling must be one of"),
    ("delta", {"target_scale": "big"}, "delta target_scale must be one of"),
    ("delta", {"t0": 0.0}, "delta t0 must be > 0, got 0.0"),
    ("ssm", {"variant": "fast"}, "ssm variant must be one of"),
    ("ssm", {"projection": "sparse"}, "ssm projection must be one of"),
    ("ssm", {"n_projections": 0}, "ssm n_projections must be >= 1, got 0"),
    ("ssm", {"sigma": -0.1}, "ssm sigma must be >= 0, got -0.1"),
    ("nce", {"sources": {"gauss": 1}},
     "nce sources ['gauss'] unknown; valid sources: gaussian, prior, model, dir"),
    ("nce", {"sources": {"gaussian": 1.5}}, "nce source counts must be non-negative integers"),
    ("nce", {"sources": {"gaussian": -1, "prior": 2}}, "nce source counts must be non-negative"),
    ("nce", {"sources": {"gaussian": 0}},
     "^nce needs at least one negative; all source counts are 0$"),
    ("hmm", {}, "unknown criterion 'hmm'; choose one of: delta, dsm,"),
])
def test_bad_options_are_refused_with_their_reason(name, options, message):
    """Messages are matched from their start ("^..." also to their end)."""
    pattern = ("^" + re.escape(message[1:-1]) + "$") if message.startswith("^") \
        else "^" + re.escape(message)
    with pytest.raises(UserInputError, match=pattern):
        criteria.build(name, **options)


@pytest.mark.parametrize(("name", "options"), [
    ("dsm", {"sigma": 1e-3}),
    ("dsm", {"sigma": 0.5, "sigma_min": 0.0}),  # a fixed sigma ignores the ladder
    ("dsm", {"sigma_min": 0.3, "sigma_max": 0.3, "n_sigmas": 1}),
    ("fm", {"sigma_min": 0.0}),
    ("fm", {"sigma_min": 0.99}),
    ("ssm", {"n_projections": 1, "sigma": 0.0}),
    ("nce", {"sources": {"prior": 1}}),  # the given counts replace the defaults
    ("delta", {"t0": 1e-3}),
])
def test_options_at_their_bounds_are_accepted(name, options):
    criteria.build(name, **options)


def test_nce_default_sources():
    assert criteria.build("nce").sources == {"gaussian": 2, "prior": 1, "model": 1, "dir": 0}
    assert criteria.build("nce", sources={"prior": 1}).sources == {"prior": 1}


def test_noise_ladders_run_from_sigma_max_down_to_sigma_min():
    assert geometric_ladder(0.1, 1.0, 1) == [1.0]
    assert geometric_ladder(0.1, 1.0, 2) == pytest.approx([1.0, 0.1])
    assert geometric_ladder(0.1, 10.0, 3) == pytest.approx([10.0, 1.0, 0.1])
    assert criteria.build("dsm", sigma_min=0.01, sigma_max=1.0, n_sigmas=3).sigmas() == \
        pytest.approx([1.0, 0.1, 0.01])
    assert criteria.build("dsm", sigma=0.3).sigmas() == [0.3]


def test_masked_mean_counts_valid_elements_only():
    values = torch.tensor([[[3.0, 100.0]]])  # (1, 1, 2): one bin, second frame padded
    assert masked_mean(values, torch.tensor([[[1.0, 0.0]]])).item() == 3.0
    assert masked_mean(values, torch.zeros(1, 1, 2)).item() == 0.0


def test_time_sampling_defaults_and_seeded_values():
    like = torch.zeros(1)
    torch.manual_seed(0)
    uniform = sample_times(20000, like).flatten()
    assert uniform.shape == (20000,) and 0 <= uniform.min() and uniform.max() < 1
    assert uniform.var().item() == pytest.approx(1 / 12, rel=0.05)  # uniform, not logit-normal
    torch.manual_seed(0)
    logit = sample_times(20000, like, "logit_normal").flatten()
    assert torch.logit(logit).mean().item() == pytest.approx(0.0, abs=0.03)
    assert torch.logit(logit).std().item() == pytest.approx(1.0, rel=0.03)
    torch.manual_seed(1)
    got = sample_times(4, like, "logit_normal", 0.3, 2.0).flatten()
    torch.manual_seed(1)
    assert torch.equal(got, torch.sigmoid(0.3 + 2.0 * torch.randn(4)))


@pytest.mark.parametrize(("name", "keys"), [
    ("dsm", {"dsm"}), ("fm", {"fm"}), ("delta", {"delta"}),
    ("ssm", {"ssm", "ssm_trace", "ssm_norm"}),
    ("nce", {"nce", "nce_reg", "energy_pos", "energy_neg", "nce_acc"}),
])
def test_logged_terms(name, keys):
    torch.manual_seed(0)
    x, mu, mask = torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.ones(2, 1, 4)
    loss, logs = criteria.build(name)(quadratic, x, mu, mask)
    assert set(logs) == keys
    assert logs[name].item() == pytest.approx(
        loss.item() - (logs["nce_reg"].item() if name == "nce" else 0.0), rel=1e-6)


def test_ssm_matches_closed_form_with_rademacher_projections():
    """E = 1/2 |x - mu|^2, v in {-1, 1}: trace term -v.v = -n, norm term 1/2 |g|^2 (vr) or
    1/2 (g.v)^2 (plain), both per valid element."""
    x = torch.tensor([[[1.0, 2.0, 9.0]]])  # one bin, frames 0-1 valid
    mu = torch.zeros(1, 1, 3)
    mask = torch.tensor([[[1.0, 1.0, 0.0]]])
    ssm = criteria.build("ssm", variant="vr", projection="rademacher", n_projections=4)
    loss, logs = ssm(quadratic, x, mu, mask)
    assert logs["ssm_trace"].item() == pytest.approx(-1.0)
    assert logs["ssm_norm"].item() == pytest.approx(0.5 * (1 + 4) / 2)
    assert loss.item() == pytest.approx(-1.0 + 1.25)
    single = criteria.build("ssm", variant="vr", projection="rademacher")
    _, logs = single(quadratic, x[:, :, :1], mu[:, :, :1], mask[:, :, :1])  # one element
    assert logs["ssm_trace"].item() == -1.0 and logs["ssm_norm"].item() == 0.5


def test_projections_are_rademacher_or_gaussian_and_masked():
    x, mask = torch.zeros(2, 3, 5), torch.ones(2, 1, 5)
    mask[1, :, 3:] = 0
    torch.manual_seed(0)
    v = criteria.build("ssm", projection="rademacher", n_projections=50).project(x, mask)
    assert v.shape == (50, 2, 3, 5)
    valid = mask.expand(2, 3, 5).bool().expand_as(v)
    assert set(v[valid].unique().tolist()) == {-1.0, 1.0} and (v[~valid] == 0).all()
    g = criteria.build("ssm", projection="gaussian", n_projections=50).project(x, mask)
    assert g[valid].std().item() == pytest.approx(1.0, rel=0.1)
    assert len(g[valid].unique()) > 100 and (g[~valid] == 0).all()


def test_nce_terms_from_given_negatives():
    """sources dir only: negatives are used as given; per-frame energies checked by hand."""
    mu = torch.zeros(3, 1, 2)
    mask = torch.tensor([[[1.0, 1.0]], [[1.0, 1.0]], [[1.0, 0.0]]])  # utterance 2: one frame
    x = torch.tensor([[[1.0, 1.0]], [[2.0, 0.0]], [[2.0, 7.0]]])
    negatives = torch.tensor([  # (B, K=2, D=1, T=2)
        [[[2.0, 0.0]], [[0.0, 3.0]]],
        [[[0.0, 2.0]], [[2.0, 2.0]]],  # first negative ties with the positive
        [[[1.0, 5.0]], [[3.0, 0.0]]],
    ])
    nce = criteria.build("nce", sources={"dir": 2}, alpha=0.1)
    loss, logs = nce(quadratic, x, mu, mask, negatives=negatives)
    frames = torch.tensor([2.0, 2.0, 1.0])
    pos = torch.tensor([1.0, 2.0, 2.0]) / frames
    neg = torch.tensor([[2.0, 4.5], [2.0, 4.0], [0.5, 4.5]]) / frames[:, None]
    every = torch.cat([pos[:, None], neg], dim=1)
    nll = (torch.logsumexp(-every, dim=1) + pos).mean()
    reg = 0.1 * (pos**2 + (neg**2).mean(dim=1)).mean()
    assert logs["energy_pos"].item() == pytest.approx(pos.mean().item())
    assert logs["energy_neg"].item() == pytest.approx(neg.mean().item())
    assert logs["nce_acc"].item() == pytest.approx(1 / 3)  # a tie is not a win; 0.5 < 2
    assert logs["nce"].item() == pytest.approx(nll.item())
    assert logs["nce_reg"].item() == pytest.approx(reg.item())
    assert loss.item() == pytest.approx((nll + reg).item())


def test_nce_dir_source_checks_the_negatives():
    nce = criteria.build("nce", sources={"dir": 2})
    x, mu, mask = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.ones(2, 1, 4)
    with pytest.raises(UserInputError, match="^" + re.escape(
            "nce source 'dir' requested but no negatives were passed (B, K, D, T)") + "$"):
        nce(quadratic, x, mu, mask)
    shape = re.escape("needs negatives of shape (2, >=2, 3, 4), got ")
    with pytest.raises(UserInputError, match=shape + re.escape("(2, 1, 3, 4)")):
        nce(quadratic, x, mu, mask, negatives=torch.zeros(2, 1, 3, 4))
    with pytest.raises(UserInputError, match=shape + re.escape("(3, 2, 3, 4)")):
        nce(quadratic, x, mu, mask, negatives=torch.zeros(3, 2, 3, 4))
    assert math.isfinite(nce(quadratic, x, mu, mask, negatives=torch.ones(2, 3, 3, 4))[0].item())


def test_ssm_plain_norm_is_the_squared_projection_of_the_whole_gradient():
    x, mu = torch.tensor([[[1.0, 2.0, 9.0]]]), torch.zeros(1, 1, 3)
    mask = torch.tensor([[[1.0, 1.0, 0.0]]])
    ssm = criteria.build("ssm", variant="plain", projection="rademacher", n_projections=1)
    for seed in range(4):
        torch.manual_seed(seed)
        _, logs = ssm(quadratic, x, mu, mask)
        # g = (1, 2) on the valid frames: (g.v)^2 is 9 or 1, halved, per valid element
        assert logs["ssm_norm"].item() in (pytest.approx(9 / 4), pytest.approx(1 / 4))


def test_nce_model_source_runs_the_configured_short_chain():
    """One gd step of 0.5 from mu (temperature 0) on E = 1/2 |x - mu - 1|^2 lands at mu + 0.5."""
    def shifted(x, mu, mask):
        return (0.5 * (x - mu - 1.0) ** 2 * mask).sum(dim=(1, 2))

    nce = criteria.build("nce", sources={"model": 1}, model_steps=1, model_step_size=0.5,
                         temperature=0.0)
    mu, mask = torch.randn(2, 3, 4), torch.ones(2, 1, 4)
    negatives = nce.make_negatives(shifted, torch.zeros(2, 3, 4), mu, mask, None)
    assert negatives.shape == (2, 1, 3, 4)
    torch.testing.assert_close(negatives[:, 0], mu + 0.5)


@pytest.mark.parametrize("name", ["delta", "fm"])
def test_logit_normal_times_use_their_mean_and_std(name):
    crit = criteria.build(name, time_sampling="logit_normal", logit_mean=0.5, logit_std=0.3)
    torch.manual_seed(0)
    x, mu, mask = torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.ones(2, 1, 4)
    loss, _ = crit(quadratic, x, mu, mask)
    assert torch.isfinite(loss)
    torch.manual_seed(3)
    t = crit.sample_t(5000, x).flatten()
    assert torch.logit(t).mean().item() == pytest.approx(0.5, abs=0.02)
    assert torch.logit(t).std().item() == pytest.approx(0.3, rel=0.05)

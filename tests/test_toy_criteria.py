"""The toy benchmark's yardsticks (score, sliced W2, mode count) and its quick mode."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "toy_criteria.py"
_SPEC = importlib.util.spec_from_file_location("toy_criteria", _PATH)
toy = importlib.util.module_from_spec(_SPEC)
sys.modules["toy_criteria"] = toy  # dataclasses look their module up there
_SPEC.loader.exec_module(toy)


def test_analytic_score_is_grad_log_density():
    task = toy.ring8()
    g = torch.Generator().manual_seed(0)
    _, mu = task.sample_mu(64, g)
    x = (task.sample_x(mu, g) + 0.3 * torch.randn(64, 2, generator=g)).requires_grad_(True)
    sq = ((x[:, None] - mu[:, None] - task.offsets[None]) ** 2).sum(-1)
    log_p = torch.logsumexp(-sq / (2 * task.std**2), dim=1)
    (auto,) = torch.autograd.grad(log_p.sum(), x)
    assert torch.allclose(task.score(x.detach(), mu), auto, atol=1e-4)


def test_sliced_w2_of_a_shift():
    """Shifting a set by a in 2-D gives sliced W2 = |a| sqrt(E cos^2) = |a| / sqrt(2)."""
    a = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    assert toy.sliced_w2(a, a) == 0.0
    shift = torch.tensor([0.3, -0.4])
    assert toy.sliced_w2(a + shift, a, n_proj=4000) == pytest.approx(0.5 / math.sqrt(2), rel=0.03)


def test_mode_count():
    task = toy.ring8()
    g = torch.Generator().manual_seed(0)
    ids, mu = task.sample_mu(800, g)
    data = task.sample_x(mu, g)
    assert toy.evaluate_samples(task, ids, data, data)[1] == 8
    one_mode = mu + task.offsets[0]  # everything collapsed onto the first mode
    assert toy.evaluate_samples(task, ids, one_mode, data)[1] == 1


@pytest.mark.slow
def test_quick_mode_runs(capsys):
    table = toy.main(["--quick"])
    for label in ("delta", "dsm", "ssm-vr", "nce-gauss"):
        assert f"| {label} |" in table
    assert table.count("### ") == 2

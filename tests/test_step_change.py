"""benchmarks/step_change.py: the per-band change between two mel folders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("step_change", REPO / "benchmarks" / "step_change.py")
step_change = importlib.util.module_from_spec(spec)
spec.loader.exec_module(step_change)


def test_change_per_band_is_frame_weighted(tmp_path: Path) -> None:
    before, after = tmp_path / "K0", tmp_path / "K2"
    before.mkdir(), after.mkdir()
    for name, frames, shift in (("a", 10, 0.1), ("b", 30, 0.5)):
        mel = np.zeros((80, frames))
        np.save(before / f"{name}.npy", mel)
        moved = mel.copy()
        moved[:20] += shift  # only the lowest band moves
        np.save(after / f"{name}.npy", moved)
    np.save(before / "lonely.npy", np.zeros((80, 5)))  # no partner: left out
    bands, n = step_change.band_change(before, after)
    assert n == 2
    np.testing.assert_allclose(bands, [(10 * 0.1 + 30 * 0.5) / 40, 0, 0, 0])
    np.save(after / "a.npy", np.zeros((80, 11)))
    with pytest.raises(ValueError, match="shapes differ"):
        step_change.band_change(before, after)

"""Validation under DDP: two CPU processes (gloo) validate different shards, and the logged
value is the mean of the ranks' values (sync_dist), not rank 0's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_training import make_dump

WORKER = Path(__file__).parent / "ddp_worker.py"


def test_ddp_validation_is_reduced_over_two_ranks(tmp_path: Path) -> None:
    dump = make_dump(tmp_path / "dump", n_train=16, n_val=6)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": ""}
    result = subprocess.run([sys.executable, str(WORKER), str(dump), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1]

    train_ids = [{i for batch in r["train_ids"] for i in batch} for r in ranks]
    assert len(ranks[0]["train_ids"]) == len(ranks[1]["train_ids"]) == 4  # 4 steps each
    assert ranks[0]["train_ids"] != ranks[1]["train_ids"] and train_ids[0] | train_ids[1]
    val_ids = [sorted(i for batch in r["val_ids"][:1] for i in batch) for r in ranks]
    assert val_ids == [["val000", "val002", "val004"], ["val001", "val003", "val005"]]

    assert len(ranks[0]["logged_val_loss"]) == 2  # validation at steps 2 and 4
    for validation in range(2):
        own = [r["own_val_loss"][validation] for r in ranks]
        logged = [r["logged_val_loss"][validation] for r in ranks]
        assert own[0] != pytest.approx(own[1], rel=1e-3)  # the shards really differ
        assert logged[0] == logged[1] == pytest.approx((own[0] + own[1]) / 2, rel=1e-5)

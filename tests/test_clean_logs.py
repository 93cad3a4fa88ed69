"""Logs a user reads (training, recipe, evaluate) carry no third-party advertising or warnings.

Run in subprocesses: pytest records warnings itself, and a warning shown once per process
would hide a regression from a test that runs after another one triggered it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_training import make_dump

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": ""}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300, check=False
    )


def test_training_log_has_no_tip_and_no_deprecation(tmp_path: Path) -> None:
    dump = make_dump(tmp_path / "dump")
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  dump_dir: {dump}\n  batch_size: 8\nmodel:\n  preset: tiny\n")
    result = run(
        sys.executable, "-m", "tts_ebm.cli", "train", "--config", str(config),
        "--out", str(tmp_path / "out"), "--no-progress", "trainer.max_steps=4",
        "trainer.val_every=2", "trainer.log_every=1",
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "step 4 validation" in log  # the run did log, and validated
    assert "Tip:" not in log and "litlogger" not in log and "litmodels" not in log, log
    assert "deprecat" not in log.lower(), log
    assert "Warning" not in log, log


def test_evaluate_imports_print_no_pkg_resources_warning() -> None:
    result = run(sys.executable, "-c", "import tts_ebm.evaluation.metrics")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    result = run(sys.executable, "-m", "tts_ebm.cli", "evaluate", "--help")
    assert result.returncode == 0 and result.stderr == "", result.stderr

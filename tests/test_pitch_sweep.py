"""benchmarks/pitch_sweep.py: the unseen table pairs each setting with the system's own unseen μ."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("pitch_sweep", REPO / "benchmarks" / "pitch_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _judged(folder: Path, distill: list[float]) -> None:
    utterances = {f"u{i}": {"distill_mos": value, "dnsmos_p808": 3.0} for i, value in
                  enumerate(distill)}
    mean = sum(distill) / len(distill)
    metrics = {"summary": {"distill_mos": {"mean": mean, "ci95": 0.1}},
               "utterances": utterances}
    (folder / "eval").mkdir(parents=True)
    (folder / "eval" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")


def test_unseen_table_pairs_settings_with_the_unseen_mu(tmp_path: Path) -> None:
    unseen = tmp_path / "fr" / "unseen"
    _judged(unseen / "K0", [3.0, 3.2, 3.4, 3.6])
    _judged(unseen / "K2_tau0", [3.1, 3.3, 3.5, 3.7])   # +0.1 on every sentence
    table = _module().settings_table(tmp_path, "fr", "unseen")
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| μ alone") and "3.30 ± 0.10" in rows[1]
    assert rows[2].startswith("| K2_tau0 |") and len(rows) == 3   # K0 is the μ row, not a setting
    assert rows[2].rstrip(" |").endswith("+0.10 ± 0.00")        # Distill-MOS vs μ, paired

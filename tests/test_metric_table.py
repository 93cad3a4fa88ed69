"""The one metric table (tts_ebm/evaluation/metric_table.py): what each consumer shows comes from
it, no module keeps a list of its own, and the producers compute exactly its keys."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tts_ebm.evaluation import evaluate, mel_metrics, metric_table, metrics, report
from tts_ebm.evaluation.metric_table import METRICS, TABLE, Better, Source, pick
from tts_ebm.samples_page import METRICS as PAGE_METRICS

REPO = Path(__file__).resolve().parents[1]
# modules that compute metrics and so name their keys; everyone else reads the table
PRODUCERS = {
    "tts_ebm/evaluation/metric_table.py",
    "tts_ebm/evaluation/metrics.py",
    "tts_ebm/evaluation/mel_metrics.py",
    "tts_ebm/evaluation/dnsmos.py",
    "tts_ebm/evaluation/asr.py",
    "tts_ebm/evaluation/evaluate.py",  # the corpus WER and the optional judges' entries
    "tts_ebm/commands/evaluate.py",
    "tts_ebm/statistics.py",  # the corpus WER and its paired difference
}


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_metric_a_consumer_shows_is_in_the_table() -> None:
    shown = {
        "evaluate": [METRICS[key] for key in evaluate.SUMMARY_METRICS],
        "report": [*report.MAIN_COLUMNS, *report.MEL_COLUMNS, *report.STEPS_PLOTTED,
                   *report.TIME_PLOTTED],
        "samples page": list(PAGE_METRICS),
        "contest": list(_benchmark("contest").METRICS),
        "frame sweep": list(_benchmark("frame_sweep").COLUMNS),
        "pitch sweep": list(_benchmark("pitch_sweep").COLUMNS),
        "tuning": list(_benchmark("tune").COLUMNS),
    }
    for consumer, metrics_shown in shown.items():
        for metric in metrics_shown:
            assert METRICS.get(metric.key) is metric, f"{consumer}: {metric.key}"


def _string_constants(path: Path) -> set[str]:
    """The module's string literals, except the keys it hands to `pick` (choosing from the
    table is what a consumer should do)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    picked = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
              and getattr(node.func, "id", getattr(node.func, "attr", None)) == "pick"
              for arg in node.args}
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in picked}


def test_no_module_outside_the_producers_names_a_metric_key() -> None:
    """A fifth list of metrics (labels, scales, directions) would have to spell the keys
    outside `pick(...)`."""
    offenders = {}
    for path in sorted([*REPO.glob("tts_ebm/**/*.py"), *REPO.glob("benchmarks/*.py")]):
        name = str(path.relative_to(REPO))
        if name not in PRODUCERS and (spelled := _string_constants(path) & set(METRICS)):
            offenders[name] = sorted(spelled)
    assert offenders == {}


def test_keys_are_unique_and_pick_refuses_unknown_ones() -> None:
    assert len(METRICS) == len(TABLE)
    assert pick("mcd_db", "wer") == (METRICS["mcd_db"], METRICS["wer"])
    with pytest.raises(KeyError, match="no metric mcd in the metric table"):
        pick("wer", "mcd")


def test_display_header_and_direction() -> None:
    wer, p808, gv = METRICS["wer"], METRICS["dnsmos_p808"], METRICS["gv_ratio"]
    assert wer.header == "WER [%]" and p808.header == "DNSMOS P.808"
    assert wer.format(0.3412, 0.05) == "34.1 ± 5.0" and p808.format(3.456) == "3.46"
    assert wer.axis_label == "WER [%] (lower is better)"
    assert gv.axis_label == "GV ratio (nearer 1 is better)"
    assert max([0.4, 0.3, 0.5], key=wer.rank) == 0.3
    assert max([2.9, 3.1, 3.0], key=p808.rank) == 3.1
    assert max([0.7, 1.2, 0.95], key=gv.rank) == 0.95  # nearest 1, from either side


def test_every_distance_and_error_is_lower_is_better_and_every_mos_higher() -> None:
    for metric in TABLE:
        if metric.key.endswith(("_db", "_rate", "_cents", "wer", "_fd")):
            assert metric.better is Better.LOWER, metric.key
        if metric.key.startswith("dnsmos") or metric.key == "utmos":
            assert metric.better is Better.HIGHER, metric.key
        if metric.key.endswith("_ratio"):
            assert metric.better is Better.ONE, metric.key


def test_the_producers_compute_exactly_the_table_keys_of_their_source() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(11025) / 22050
    reference = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.normal(size=t.size)
    synthesised = 0.3 * np.sin(2 * np.pi * 160 * t[:10000]) + 0.01 * rng.normal(size=10000)
    per_utterance = metrics.compare(reference, synthesised)
    counts = {"n_aligned_frames", "n_voiced_both"}  # bookkeeping, not metrics
    assert set(per_utterance) - counts == set(metric_table.keys(Source.WAVEFORM))
    assert set(evaluate.SUMMARY_METRICS) == set(
        metric_table.keys(Source.WAVEFORM, Source.DNSMOS, Source.DISTILL_MOS))
    assert metric_table.keys(Source.DISTILL_MOS) == ("distill_mos",)
    mels = rng.normal(-5.0, 1.0, size=(80, 40)), rng.normal(-5.0, 1.0, size=(80, 30))
    per_mel = mel_metrics.compare_mels(*mels)
    assert set(per_mel) - {"mel_frames_ratio"} == set(metric_table.keys(Source.MEL))
    assert metric_table.keys(Source.MEL_SET) == ("mel_fd",)
    assert metric_table.keys(Source.ASR) == ("wer",)

"""Every metric the toolkit reports, defined once: key, label, unit, direction, display, source.

Why: `evaluate`, the recipe report (RESULTS.md and its figures), the samples page and the
contest each kept their own list of metrics with its own labels, scales and "higher is better"
flags, and they drifted apart (WER as a fraction in one table, in % in the next). They now take
their metrics from here by key, so a metric is named, scaled and ranked the same everywhere, and
a new one is added in one line. Light on purpose: no numerical library is imported, so the
report and the page can read it without loading pysptk or pyworld.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Better(str, Enum):
    """Which values are better."""

    LOWER = "lower"
    HIGHER = "higher"
    ONE = "nearer 1"  # a ratio to the data's statistic


class Source(str, Enum):
    """Where a value comes from (the function that computes it) and how a set is summarised."""

    WAVEFORM = "waveform"  # metrics.compare_features: synthesised vs reference waveform
    DNSMOS = "dnsmos"  # dnsmos.dnsmos_scores: the synthesised waveform alone
    DISTILL_MOS = "distill_mos"  # distill_mos.distill_mos: the synthesised waveform alone
    ASR = "asr"  # asr.word_errors per utterance; asr.corpus_wer over the set
    MEL = "mel"  # mel_metrics.compare_mels: generated vs reference log-mel
    MEL_SET = "mel_set"  # mel_metrics.mel_frechet_distance: set level, bootstrap interval
    NEURAL = "neural"  # neural.py, optional and downloaded: one mean over the set


@dataclass(frozen=True)
class Metric:
    """One metric: `key` in metrics.json (`summary` and per utterance), how it is shown."""

    key: str
    label: str  # name in tables and on axes, without the unit
    unit: str  # of the displayed value; "" for none
    better: Better
    source: Source
    scale: float = 1.0  # displayed = value * scale (fractions shown in %)
    digits: int = 2

    @property
    def header(self) -> str:
        """Table header: the label with its unit, e.g. `WER [%]`."""
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    @property
    def axis_label(self) -> str:
        """Header and direction, e.g. `WER [%] (lower is better)`."""
        return f"{self.header} ({self.better.value} is better)"

    def shown(self, value: float) -> float:
        """The value in display units."""
        return value * self.scale

    def format(self, value: float, ci95: float | None = None) -> str:
        """Display units at this metric's digits, with `± ci95` when given."""
        text = f"{self.shown(value):.{self.digits}f}"
        return text if ci95 is None else f"{text} ± {self.shown(ci95):.{self.digits}f}"

    def rank(self, value: float) -> float:
        """A score that is larger for better values (to pick the best of several)."""
        if self.better is Better.HIGHER:
            return value
        if self.better is Better.LOWER:
            return -value
        return -abs(value - 1.0)


_L, _H, _ONE = Better.LOWER, Better.HIGHER, Better.ONE
TABLE = (  # in the order metrics.json's summary lists them
    Metric("wer", "WER", "%", _L, Source.ASR, scale=100.0, digits=1),
    Metric("mcd_db", "MCD", "dB", _L, Source.WAVEFORM),
    Metric("log_f0_rmse_cents", "log-F0 RMSE", "cents", _L, Source.WAVEFORM, digits=1),
    Metric("gross_pitch_error_rate", "GPE", "%", _L, Source.WAVEFORM, scale=100.0, digits=1),
    Metric("fine_log_f0_rmse_cents", "fine log-F0 RMSE", "cents", _L, Source.WAVEFORM, digits=1),
    Metric("vuv_error_rate", "V/UV error", "%", _L, Source.WAVEFORM, scale=100.0, digits=1),
    Metric("duration_ratio", "duration ratio", "", _ONE, Source.WAVEFORM, digits=3),
    Metric("dnsmos_p808", "DNSMOS P.808", "", _H, Source.DNSMOS),
    Metric("distill_mos", "Distill-MOS", "", _H, Source.DISTILL_MOS),
    Metric("dnsmos_ovrl", "DNSMOS OVRL", "", _H, Source.DNSMOS),
    Metric("dnsmos_sig", "DNSMOS SIG", "", _H, Source.DNSMOS),
    Metric("dnsmos_bak", "DNSMOS BAK", "", _H, Source.DNSMOS),
    Metric("mel_mcd_db", "mel MCD", "dB", _L, Source.MEL),
    Metric("gv_ratio", "GV ratio", "", _ONE, Source.MEL, digits=3),
    Metric("roughness_ratio", "roughness ratio", "", _ONE, Source.MEL, digits=3),
    Metric("mel_fd", "mel FD", "", _L, Source.MEL_SET),
    Metric("whisper_wer", "Whisper WER", "%", _L, Source.NEURAL, scale=100.0, digits=1),
    Metric("utmos", "UTMOS", "", _H, Source.NEURAL),
)
METRICS: dict[str, Metric] = {metric.key: metric for metric in TABLE}


def pick(*keys: str) -> tuple[Metric, ...]:
    """The metrics of `keys`, in that order; KeyError names an unknown key."""
    unknown = [key for key in keys if key not in METRICS]
    if unknown:
        raise KeyError(f"no metric {', '.join(unknown)} in the metric table; known: "
                       f"{', '.join(METRICS)}")
    return tuple(METRICS[key] for key in keys)


def keys(*sources: Source) -> tuple[str, ...]:
    """Keys of the metrics that come from `sources`, in table order."""
    return tuple(metric.key for metric in TABLE if metric.source in sources)

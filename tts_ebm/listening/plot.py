"""Bar plot of per-system means with 95 % confidence intervals (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tts_ebm.listening.stats import Summary


def plot_scores(summaries: list[Summary], kind: str, path: Path) -> None:
    """Means as bars, t intervals as error bars, medians as dots; best system first."""
    names = [s.system for s in summaries]
    means = [s.mean for s in summaries]
    errors = [
        [max(0.0, s.mean - s.ci_low) if s.ci_low == s.ci_low else 0.0 for s in summaries],
        [max(0.0, s.ci_high - s.mean) if s.ci_high == s.ci_high else 0.0 for s in summaries],
    ]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(names) + 3.0), 3.5))
    ax.bar(
        names, means, yerr=errors, capsize=4, color="tab:blue", alpha=0.7, label="mean ± 95 % CI"
    )
    ax.plot(names, [s.median for s in summaries], "o", color="black", label="median")
    ax.set_ylim(*((0, 100) if kind == "mushra" else (1, 5)))
    ax.set_ylabel("MUSHRA score" if kind == "mushra" else "MOS")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

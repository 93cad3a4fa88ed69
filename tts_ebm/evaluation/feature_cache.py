"""Reference features extracted once per test set, not once per system.

Every system of an experiment is compared with the same reference recordings, and their
mel-cepstrum (pysptk, ~0.5 CPU-s per 3 s clip) and F0 come out the same every time. The cache
keeps them as `<dir>/<settings key>/<id>.npz`: the key hashes the analysis settings, and each
file records the recording's size and modification time, so a changed setting or recording is
extracted again. Files are written to a temporary name and renamed, so evaluations running in
parallel may share one folder. Scores are identical with and without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tts_ebm.evaluation.metrics import Features, MetricSettings, extract_features

# the MetricSettings fields that change extracted features (DTW and scoring ones do not)
FEATURE_SETTINGS = ("sample_rate", "n_fft", "hop_length", "window", "mcep_order", "mcep_alpha",
                    "f0_method", "f0_min", "f0_max")


def settings_key(settings: MetricSettings) -> str:
    """Short hash of the settings that determine the features."""
    values = {name: getattr(settings, name) for name in FEATURE_SETTINGS}
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def cached_features(
    cache_dir: Path | None,
    utt_id: str,
    audio_path: Path,
    load: Callable[[], np.ndarray],
    settings: MetricSettings,
) -> Features:
    """Features of `audio_path` from the cache, or `extract_features(load())` stored there."""
    if cache_dir is None:
        return extract_features(load(), settings)
    file = Path(cache_dir) / settings_key(settings) / f"{utt_id}.npz"
    stat = audio_path.stat()  # follows the test set's symlinks to the recording itself
    source = np.array([stat.st_size, stat.st_mtime_ns], dtype=np.int64)
    if file.is_file():
        try:
            with np.load(file) as data:
                if np.array_equal(data["source"], source):
                    return Features(mcep=data["mcep"], f0=data["f0"],
                                    n_samples=int(data["n_samples"]))
        except (OSError, ValueError, KeyError, EOFError):
            pass  # unreadable: extract again and overwrite
    features = extract_features(load(), settings)
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(f".{file.stem}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez(handle, mcep=features.mcep, f0=features.f0, n_samples=features.n_samples,
                 source=source)
    os.replace(temporary, file)
    return features

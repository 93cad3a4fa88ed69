"""Mel-domain metrics: judge the acoustic model by its log-mels, without a vocoder in the way.

Inputs are raw log-mels (80, T): the generated ones that `tts-ebm synthesize --save-mel` writes
beside the wavs, and the reference ones of the feature dump (`DUMP/mels/<id>.npy`). Generated
and reference lengths differ (predicted durations), so only `mel_mcd_db` aligns frames; the
other three compare statistics, which is what makes them see over-smoothing that a distance to
the target rewards.

- `mel_mcd_db` (`log_mel_mcd`): mel-cepstral distortion on the log-mels. Cepstra are the
  orthonormal DCT-II of each log-mel frame, rescaled to the usual convention
  log|H| = c0 + 2 sum_d c_d cos(d w) (c_d = DCT_d / sqrt(2 * 80)), so the dB figure reads like a
  waveform MCD; c1..c34 (c0, the log gain, excluded). Exact DTW (`librosa.sequence.dtw`,
  Euclidean) on those cepstra; the mean over path pairs of 10/ln10 * sqrt(2 * sum_d
  (c_d^ref - c_d^syn)^2). Training's validation logs the same number aligned by fastdtw.
- `gv_ratio`: global variance (per-bin variance over time, Toda & Tokuda 2007) of the generated
  mel divided by the reference's, averaged over bins. 1 is data-like, < 1 over-smoothed.
- `roughness_ratio`: mean squared frame-to-frame difference of the generated mel divided by the
  reference's. < 1 too smooth (a piecewise-constant mean), > 1 too rough (sampler noise).
- `mel_fd`: Fréchet distance (the FID/FAD idea) between the Gaussians fitted to the sets of
  generated and reference mel patches (`patch_frames` consecutive frames flattened, every
  frame offset). Patches are projected on the `fd_dims` = 128 leading principal components of
  the reference patches: a full 5 x 80 = 400-dimensional covariance from the few thousand
  patches of a mini test set is poorly conditioned, while 128 components keep about 99 % of the
  patch variance (12 festival-slt sentences; `pca_variance` in the result) and still see
  isotropic noise (which a 32- or 64-dimensional projection barely does). A set-level number:
  `ci95` is 1.96 times its bootstrap standard error over utterances (ids drawn with
  replacement, both sides together, the PCA basis fixed); the percentile interval would not
  contain the estimate, because resampling with repeats biases a Fréchet distance upwards.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.fft import dct

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import metric_table
from tts_ebm.evaluation.metric_table import Source

_DB = 10.0 / np.log(10.0)


@dataclass(frozen=True)
class MelMetricSettings:
    """Analysis settings; stored with every result."""

    n_cepstra: int = 34
    dtw: str = "librosa.sequence.dtw (exact, euclidean)"
    patch_frames: int = 5
    fd_dims: int = 128
    n_bootstrap: int = 200
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def load_mel(path: str | Path) -> np.ndarray:
    """A raw log-mel (n_mels, T) float64 from an .npy file, checked for shape and values."""
    path = Path(path)
    try:
        mel = np.load(path)
    except (OSError, ValueError) as error:
        raise UserInputError(f"cannot read the mel {path}: {error}") from error
    if mel.ndim != 2 or mel.shape[1] < 2:
        raise UserInputError(f"{path}: expected a log-mel of shape (n_mels, T >= 2), got {mel.shape}")
    if not np.all(np.isfinite(mel)):
        raise UserInputError(f"{path}: the mel holds NaN or infinite values")
    return mel.astype(np.float64)


def mel_cepstra(log_mel: np.ndarray, n_cepstra: int = 34) -> np.ndarray:
    """c1..c_n (n, T) of each frame, in the convention log|H| = c0 + 2 sum_d c_d cos(d w)."""
    coefficients = dct(log_mel, type=2, norm="ortho", axis=0)
    return coefficients[1 : n_cepstra + 1] / np.sqrt(2.0 * log_mel.shape[0])


def log_mel_mcd(
    reference: np.ndarray, generated: np.ndarray, n_cepstra: int = 34, exact: bool = True
) -> float:
    """MCD [dB] of two raw log-mels (n_mels, T): c1..c_n of `mel_cepstra`, c0 excluded, DTW on
    the Euclidean distance, mean over path pairs of 10/ln10 * sqrt(2 * sum_d diff_d^2).

    Not the waveform MCD of `metrics.waveform_mcd` (SPTK mel-cepstra of the audio): this one
    sees the acoustic model's output without a vocoder. `exact=False` aligns with fastdtw
    (radius 1) instead of librosa's exact DTW, whose numba compilation costs seconds: for
    training's validation monitor (`val/mel_mcd_db`), not for reported numbers.
    """
    ref, gen = mel_cepstra(reference, n_cepstra), mel_cepstra(generated, n_cepstra)
    if exact:
        import librosa

        _, path = librosa.sequence.dtw(X=ref, Y=gen, metric="euclidean")
        ref_index, gen_index = path[:, 0], path[:, 1]
    else:
        from fastdtw import fastdtw

        _, pairs = fastdtw(ref.T, gen.T, radius=1, dist=2)
        ref_index, gen_index = np.asarray(pairs).T
    diff = ref[:, ref_index] - gen[:, gen_index]
    return float(np.mean(_DB * np.sqrt(2.0 * np.sum(diff**2, axis=0))))


def global_variance_ratio(reference: np.ndarray, generated: np.ndarray) -> float:
    """Per-bin variance over time, generated / reference, averaged over bins."""
    ref_gv = reference.var(axis=1)
    if np.any(ref_gv <= 0):
        raise UserInputError("a reference mel bin is constant over time; its variance ratio is undefined")
    return float(np.mean(generated.var(axis=1) / ref_gv))


def roughness(log_mel: np.ndarray) -> float:
    """Mean squared difference of consecutive frames."""
    return float(np.mean(np.diff(log_mel, axis=1) ** 2))


def roughness_ratio(reference: np.ndarray, generated: np.ndarray) -> float:
    """Frame-to-frame roughness of the generated mel relative to the reference's."""
    return roughness(generated) / roughness(reference)


def compare_mels(
    reference: np.ndarray, generated: np.ndarray, settings: MelMetricSettings = MelMetricSettings()
) -> dict[str, float | int]:
    """Per-utterance mel metrics of one generated log-mel against its reference."""
    if reference.shape[0] != generated.shape[0]:
        raise UserInputError(
            f"mel bins differ: reference {reference.shape[0]}, generated {generated.shape[0]}"
        )
    return {
        "mel_mcd_db": log_mel_mcd(reference, generated, settings.n_cepstra),
        "gv_ratio": global_variance_ratio(reference, generated),
        "roughness_ratio": roughness_ratio(reference, generated),
        "mel_frames_ratio": generated.shape[1] / reference.shape[1],
    }


def patches(log_mel: np.ndarray, frames: int) -> np.ndarray:
    """(T - frames + 1, n_mels * frames): every window of `frames` consecutive frames, flattened."""
    if log_mel.shape[1] < frames:
        raise UserInputError(f"a mel of {log_mel.shape[1]} frames is shorter than a {frames}-frame patch")
    windows = np.lib.stride_tricks.sliding_window_view(log_mel, frames, axis=1)  # (D, T', frames)
    return windows.transpose(1, 0, 2).reshape(windows.shape[1], -1)


def _gaussian(stats: tuple[np.ndarray, np.ndarray, np.ndarray], weights: np.ndarray) -> tuple:
    """Mean and covariance of the pooled patches, utterance u counted weights[u] times."""
    counts, sums, outers = stats
    count = weights @ counts
    mean = (weights @ sums) / count
    outer = np.tensordot(weights, outers, axes=1)
    return mean, (outer - count * np.outer(mean, mean)) / (count - 1)


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^1/2), with the trace of the root taken from the
    eigenvalues of the symmetric C_a^1/2 C_b C_a^1/2 (no complex round-off)."""
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = float(np.sum(np.sqrt(np.clip(cross, 0.0, None))))
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(distance, 0.0)


def _patch_moments(mels: list[np.ndarray], frames: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Number, mean and covariance of all the patches of `mels`, accumulated per utterance
    around the first utterance's mean (which keeps the sums of squares small)."""
    shift = patches(mels[0], frames).mean(axis=0)
    count, total = 0, np.zeros_like(shift)
    outer = np.zeros((shift.size, shift.size))
    for mel in mels:
        centred = patches(mel, frames) - shift
        count += len(centred)
        total += centred.sum(axis=0)
        outer += centred.T @ centred
    mean = total / count
    return count, shift + mean, (outer - count * np.outer(mean, mean)) / (count - 1)


def mel_frechet_distance(
    references: list[np.ndarray],
    generated: list[np.ndarray],
    settings: MelMetricSettings = MelMetricSettings(),
) -> dict[str, float | int | None]:
    """Set-level Fréchet distance of mel patches with a bootstrap 95 % interval over utterances.

    `references[i]` and `generated[i]` are the same utterance (same text). Returns the summary
    layout of the other metrics (`mean` is the point estimate on the whole set) plus the
    PCA dimension used and the share of the reference patch variance it keeps.
    """
    if len(references) != len(generated) or not references:
        raise UserInputError("mel_fd needs the same, non-zero number of reference and generated mels")
    frames = settings.patch_frames
    # Patches are made one utterance at a time and never pooled: every patch of a 500-utterance
    # test set (LJSpeech) would take 0.85 GB a side in float64, and the covariance as many again.
    count, centre, covariance = _patch_moments(references, frames)
    values, vectors = np.linalg.eigh(covariance)
    dims = min(settings.fd_dims, count - 1)
    basis = vectors[:, ::-1][:, :dims]

    def statistics(mels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per utterance: patch count, sum and sum of outer products in the PCA space."""
        counts, sums, outers = [], [], []
        for mel in mels:
            z = (patches(mel, frames) - centre) @ basis
            counts.append(len(z))
            sums.append(z.sum(axis=0))
            outers.append(z.T @ z)
        return np.array(counts, dtype=np.float64), np.stack(sums), np.stack(outers)

    ref_stats, gen_stats = statistics(references), statistics(generated)

    def distance(weights: np.ndarray) -> float:
        return frechet_distance(*_gaussian(ref_stats, weights), *_gaussian(gen_stats, weights))

    n = len(references)
    estimate = distance(np.ones(n))
    rng = np.random.default_rng(settings.seed)
    draws = np.array([
        distance(np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64))
        for _ in range(settings.n_bootstrap if n > 1 else 0)
    ])
    std = float(draws.std(ddof=1)) if draws.size > 1 else None
    return {
        "mean": estimate,
        "std": std,
        "ci95": None if std is None else 1.96 * std,
        "n": n,
        "interval": "1.96 x bootstrap standard error over utterances",
        "pca_dims": dims,
        "pca_variance": float(values[::-1][:dims].sum() / values.sum()),
    }


def list_mels(folder: str | Path) -> dict[str, Path]:
    """`{id: path}` for the `<id>.npy` files directly inside `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"mel folder not found: {folder}")
    return {path.stem: path for path in sorted(folder.glob("*.npy")) if path.is_file()}


def evaluate_mel_folders(
    reference_dir: str | Path,
    generated_dir: str | Path,
    ids: list[str] | None = None,
    settings: MelMetricSettings = MelMetricSettings(),
) -> dict:
    """Per-utterance mel metrics, their means with 95 % t-intervals, and the set-level mel_fd.

    Utterances are the generated `<id>.npy` files (restricted to `ids` when given) that have a
    reference `<id>.npy`; generated ids without a reference are listed and warned about. The
    reference folder may hold more (a whole dump).
    """
    from tts_ebm.statistics import mean_ci95

    generated_paths, reference_paths = list_mels(generated_dir), list_mels(reference_dir)
    wanted = sorted(generated_paths if ids is None else set(ids) & set(generated_paths))
    if not wanted:
        raise UserInputError(
            f"no generated <id>.npy mels in {generated_dir}"
            + ("" if ids is None else " for the evaluated ids")
            + " (synthesise with --save-mel)"
        )
    missing = [i for i in wanted if i not in reference_paths]
    common = [i for i in wanted if i in reference_paths]
    if missing:
        warnings.warn(f"{len(missing)} generated mels have no reference in {reference_dir}: "
                      f"{', '.join(missing[:10])}", stacklevel=2)
    if not common:
        raise UserInputError(f"no generated mel in {generated_dir} has a reference <id>.npy in {reference_dir}")
    references = [load_mel(reference_paths[i]) for i in common]
    generated = [load_mel(generated_paths[i]) for i in common]
    utterances = {i: compare_mels(r, g, settings) for i, r, g in zip(common, references, generated)}
    summary = {
        name: mean_ci95([u[name] for u in utterances.values()])
        for name in metric_table.keys(Source.MEL)
    }
    summary["mel_fd"] = mel_frechet_distance(references, generated, settings)
    return {
        "reference_mels_dir": str(reference_dir),
        "generated_mels_dir": str(generated_dir),
        "settings": settings.to_dict(),
        "missing_reference_mels": missing,
        "summary": summary,
        "utterances": utterances,
    }


def add_to_result(
    result: dict,
    reference_dir: str | Path,
    generated_dir: str | Path,
    settings: MelMetricSettings = MelMetricSettings(),
) -> None:
    """Merge the mel metrics of the utterances an `evaluate_folders` result holds into it:
    summary rows, per-utterance values, settings (prefixed `mel_`) and missing references."""
    mels = evaluate_mel_folders(reference_dir, generated_dir, list(result["utterances"]), settings)
    for utt_id, metrics in mels["utterances"].items():
        result["utterances"][utt_id].update(metrics)
    result["summary"].update(mels["summary"])
    result["settings"].update({f"mel_{key}": value for key, value in mels["settings"].items()})
    result["reference_mels_dir"] = mels["reference_mels_dir"]
    result["generated_mels_dir"] = mels["generated_mels_dir"]
    result["missing_reference_mels"] = mels["missing_reference_mels"]

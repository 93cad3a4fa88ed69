"""Corpus feature extraction: log-mels, phonemes, train statistics, and a list of what was skipped.

Each mel is written atomically and reused when present, so a killed run resumes where it
stopped; index files and statistics are written at the end from all utterances, cached or new.
"""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_prep.audio import AudioError, load_audio
from data_prep.corpora import read_language
from data_prep.features import N_MELS, mel_spectrogram
from data_prep.manifests import SPLITS, ManifestEntry, read_manifest, write_tsv
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.metrics import MetricSettings, estimate_f0
from tts_ebm.io import atomic_path, atomic_write_text
from tts_ebm.text import SymbolTable, is_speakable, normalize_for, phonemize

FEATURE_HEADER = ("id", "n_frames", "phonemes", "text")
SKIPPED_HEADER = ("id", "reason")
SYMBOLS_FILE = "symbols.json"  # {"language": espeak-ng code, "symbols": [...]}: the model's text input


@dataclass
class _Result:
    id: str
    n_frames: int = 0
    total: np.ndarray | None = None  # per-bin sum over frames (float64)
    squares: np.ndarray | None = None  # per-bin sum of squares
    cached: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _load_cached(path: Path) -> np.ndarray | None:
    try:
        mel = np.load(path)
    except (OSError, ValueError, EOFError):
        return None
    return mel if mel.ndim == 2 and mel.shape[0] == N_MELS and mel.shape[1] > 0 else None


def _save(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array.astype(np.float32))


def _pitch_path(mel_path: Path) -> Path:
    """DUMP/pitch/<id>.npy beside DUMP/mels/<id>.npy."""
    return mel_path.parent.parent / "pitch" / mel_path.name


def _extract_one(utt: str, audio: str, out_path: Path) -> _Result:
    """Compute (or reuse) one mel and its F0 track; errors the user can fix become a skip
    reason. The F0 (Hz, 0 = unvoiced, one value per mel frame; dio + stonemask, the
    evaluation's tracker) is what the variance adaptor's pitch is made of."""
    mel = _load_cached(out_path) if out_path.exists() else None
    pitch_path = _pitch_path(out_path)
    cached = mel is not None and pitch_path.is_file()
    notes: list[str] = []
    if not cached:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                wav = load_audio(audio)
            notes = [str(w.message) for w in caught]
            if mel is None:
                mel = mel_spectrogram(wav)
                _save(out_path, mel)
            f0 = estimate_f0(wav, MetricSettings(f0_method="dio"))[: mel.shape[1]]
            _save(pitch_path, np.pad(f0, (0, mel.shape[1] - len(f0))))  # 0: unvoiced
        except (AudioError, FileNotFoundError, UserInputError) as error:
            return _Result(utt, error=str(error))
    mel64 = mel.astype(np.float64)
    return _Result(
        utt, mel.shape[1], mel64.sum(axis=1), (mel64**2).sum(axis=1), cached=cached, notes=notes
    )


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # the pool provides the parallelism


@dataclass
class ExtractSummary:
    counts: dict[str, int]
    cached: int
    skipped: list[tuple[str, str]]
    notes: list[str]
    out_dir: Path

    def __str__(self) -> str:
        done = ", ".join(f"{split} {n}" for split, n in self.counts.items())
        line = f"features: {done} utterances ({self.cached} reused from a previous run)"
        if self.notes:
            line += f"; {len(self.notes)} resampled"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped, see {self.out_dir / 'skipped.tsv'}"
        return line


def _phonemes(entries: list[ManifestEntry], language: str) -> dict[str, str]:
    """id -> phonemes of the normalised text, batched in one phonemizer call."""
    normalized = [normalize_for(e.text, language) for e in entries]
    return dict(zip((e.id for e in entries), phonemize(normalized, language)))


def prepare_features(
    manifest_dir: str | Path, out_dir: str | Path, workers: int = 2
) -> ExtractSummary:
    """Write DUMP/mels/<id>.npy, DUMP/pitch/<id>.npy, DUMP/{split}.tsv, DUMP/symbols.json,
    DUMP/stats.json and DUMP/skipped.tsv."""
    manifest_dir, out_dir = Path(manifest_dir), Path(out_dir)
    if not (manifest_dir / "train.tsv").is_file():
        raise FileNotFoundError(f"no train.tsv in {manifest_dir}; run `tts-ebm prepare` first")
    manifests = {
        split: read_manifest(manifest_dir / f"{split}.tsv")
        for split in SPLITS
        if (manifest_dir / f"{split}.tsv").is_file()
    }
    (out_dir / "mels").mkdir(parents=True, exist_ok=True)
    (out_dir / "pitch").mkdir(exist_ok=True)
    entries = [e for split_entries in manifests.values() for e in split_entries]
    language = read_language(manifest_dir)
    phonemes = _phonemes(entries, language)
    skipped = [
        (e.id, "text yields no phonemes") for e in entries if not is_speakable(phonemes[e.id])
    ]
    bad_text = {utt for utt, _ in skipped}
    jobs = [e for e in entries if e.id not in bad_text]

    results: dict[str, _Result] = {}
    args = [(e.id, e.audio, out_dir / "mels" / f"{e.id}.npy") for e in jobs]
    progress = tqdm(total=len(args), desc="features", unit="utt")
    if workers <= 1:
        for arg in args:
            results[arg[0]] = _extract_one(*arg)
            progress.update()
    else:
        context = get_context("spawn")  # torch is not fork-safe once its thread pool is running
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
            for result in pool.map(_extract_one, *zip(*args), chunksize=8):
                results[result.id] = result
                progress.update()
    progress.close()

    skipped += [(r.id, r.error) for r in results.values() if r.error]
    ok = {utt: r for utt, r in results.items() if not r.error}
    counts = {}
    for split, split_entries in manifests.items():
        rows = [
            (e.id, ok[e.id].n_frames, phonemes[e.id], " ".join(e.text.split()))
            for e in split_entries
            if e.id in ok
        ]
        write_tsv(out_dir / f"{split}.tsv", FEATURE_HEADER, rows)
        counts[split] = len(rows)
    write_tsv(
        out_dir / "skipped.tsv", SKIPPED_HEADER, [(u, " ".join(r.split())) for u, r in skipped]
    )

    train = [ok[e.id] for e in manifests["train"] if e.id in ok]
    if not train:
        raise UserInputError(
            f"no train utterance could be extracted from {manifest_dir}; see {out_dir / 'skipped.tsv'}"
        )
    _write_stats(out_dir / "stats.json", train)
    kept = [phonemes[utt] for utt in ok]
    table = SymbolTable.from_phonemes(kept)
    atomic_write_text(
        out_dir / SYMBOLS_FILE,
        json.dumps({"language": language, **table.to_dict()}, ensure_ascii=False, indent=1),
    )
    return ExtractSummary(
        counts,
        cached=sum(r.cached for r in ok.values()),
        skipped=skipped,
        notes=[note for r in ok.values() for note in r.notes],
        out_dir=out_dir,
    )


def _write_stats(path: Path, train: list[_Result]) -> None:
    n = sum(r.n_frames for r in train)
    mean = sum(r.total for r in train) / n
    std = np.sqrt(np.maximum(sum(r.squares for r in train) / n - mean**2, 0.0))
    stats = {"mean": mean.tolist(), "std": std.tolist(), "n_frames": int(n)}
    atomic_write_text(path, json.dumps(stats, indent=1))

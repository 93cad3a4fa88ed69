"""Find what a samples page shows: the systems of an experiment folder and their utterances.

Rows are ordered as papers show them: the reference recordings, the vocoder's copy synthesis,
then per criterion its prior mean μ alone (K = 0) and its samples at the main K (and any other
K asked for). Everything is optional: a system without wavs is left out, a metric that was
not computed is simply not shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tts_ebm.errors import UserInputError

_SYNTH_DIR = re.compile(r"^synth_K(\d+)$")
REFERENCE_NAMES = ("reference",)  # EXP/<name>/ of the recordings (their eval*/, maybe wavs)
COPY_SYNTHESIS_NAMES = ("copy_synthesis", "copy-synthesis")  # … of the vocoded reference mels


@dataclass
class System:
    """One row of every utterance: a folder of <id>.wav and its metrics.json (if evaluated)."""

    label: str
    slug: str  # file-name-safe, unique: the folder of its copied audio and images
    wav_dir: Path
    metrics_file: Path | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # id -> metric -> value

    def wav(self, utt_id: str) -> Path | None:
        path = self.wav_dir / f"{utt_id}.wav"
        return path if path.is_file() else None


def wav_ids(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.wav") if p.is_file()} if folder.is_dir() else set()


def read_metrics(path: Path | None) -> dict[str, dict[str, float]]:
    """`utterances` of a metrics.json (id -> {metric: number}); {} when absent or unreadable."""
    if path is None or not path.is_file():
        return {}
    try:
        utterances = json.loads(path.read_text(encoding="utf-8")).get("utterances") or {}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return {}
    return {
        str(utt_id): {k: v for k, v in values.items() if isinstance(v, (int, float))}
        for utt_id, values in utterances.items()
        if isinstance(values, dict)
    }


def _metrics_file(wav_dir: Path) -> Path | None:
    """EXP/x/synth_K<k> -> EXP/x/eval_K<k>/metrics.json; otherwise the first metrics.json
    in the folder itself or in an eval* folder next to it."""
    match = _SYNTH_DIR.match(wav_dir.name)
    if match:
        return wav_dir.parent / f"eval_K{match.group(1)}" / "metrics.json"
    candidates = [wav_dir / "metrics.json", *sorted(wav_dir.parent.glob("eval*/metrics.json"))]
    return next((p for p in candidates if p.is_file()), None)


def _wav_folder(folder: Path) -> Path | None:
    """The folder itself when it holds wavs, else its first sub-folder (sorted) that does."""
    if wav_ids(folder):
        return folder
    return next((p for p in sorted(folder.iterdir()) if p.is_dir() and wav_ids(p)), None)


def _system(label: str, slug: str, wav_dir: Path, metrics_file: Path | None = None) -> System:
    metrics_file = metrics_file or _metrics_file(wav_dir)
    return System(label, slug, wav_dir, metrics_file, read_metrics(metrics_file))


def find_systems(
    exp_dir: Path, steps: list[int], reference: Path | None = None
) -> list[System]:
    """Reference, copy synthesis, then each criterion at K in `steps` (0 first: μ alone)."""
    if not exp_dir.is_dir():
        raise FileNotFoundError(f"experiment folder not found: {exp_dir}")
    systems: list[System] = []
    folders = sorted(p for p in exp_dir.iterdir() if p.is_dir())
    reference_folder = next((f for f in folders if f.name in REFERENCE_NAMES), None)
    if reference is not None and not wav_ids(reference):
        raise UserInputError(f"--reference {reference} holds no .wav files")
    if reference is None and reference_folder is not None:
        reference = _wav_folder(reference_folder)
    if reference is not None:  # the recordings' metrics are EXP/reference/eval*/metrics.json
        evaluated = sorted(reference_folder.glob("eval*/metrics.json")) if reference_folder else []
        systems.append(_system("reference", "reference", reference, next(iter(evaluated), None)))
    for folder in folders:
        if folder.name in COPY_SYNTHESIS_NAMES and (wav_dir := _wav_folder(folder)):
            systems.append(_system("copy synthesis (vocoder on reference mels)",
                                   "copy-synthesis", wav_dir))
    special = (*REFERENCE_NAMES, *COPY_SYNTHESIS_NAMES)
    for folder in folders:
        if folder.name in special:
            continue
        for k in sorted(set(steps)):
            wav_dir = folder / f"synth_K{k}"
            if wav_ids(wav_dir):
                label = f"{folder.name}: μ alone (K = 0)" if k == 0 else f"{folder.name}, K = {k}"
                systems.append(_system(label, f"{folder.name}_K{k}", wav_dir))
    if not any(_SYNTH_DIR.match(s.wav_dir.name) for s in systems):
        raise UserInputError(
            f"no synthesised test set in {exp_dir}: expected <criterion>/synth_K<k>/<id>.wav "
            f"for K in {sorted(set(steps))}"
        )
    return systems


def read_texts(path: Path | None) -> dict[str, str]:
    """`id|text` lines (the recipe's test_text.txt; LJSpeech metadata works too)."""
    if path is None:
        return {}
    if not path.is_file():
        raise FileNotFoundError(f"--texts file not found: {path}")
    texts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("|")
        if len(parts) >= 2 and parts[0].strip():
            texts[parts[0].strip()] = parts[-1].strip()
    return texts


def utterance_ids(systems: list[System], limit: int | None) -> list[str]:
    """Ids that the first system has (the reference when present), sorted; the first `limit`."""
    ids = sorted(wav_ids(systems[0].wav_dir))
    return ids if limit is None else ids[:limit]

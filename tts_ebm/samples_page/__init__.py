"""A static samples page: per test utterance, every system's audio, mel image and metrics.

`build_samples_page(exp_dir, out)` writes OUT/index.html, OUT/audio/<system>/<id>.wav (copies,
so the folder can be published as it is), OUT/mels/<system>/<id>.png and OUT/results/ (the
images RESULTS.md links). The page uses relative paths only and no scripts: it works opened
from disk and on any static web server.
"""

from __future__ import annotations

import datetime
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup
from tqdm import tqdm

from data_prep.audio import AudioError
from tts_ebm.evaluation.metric_table import pick
from tts_ebm.io import atomic_write_text
from tts_ebm.samples_page.collect import System, find_systems, read_texts, utterance_ids
from tts_ebm.samples_page.images import save_colorbar_png, save_mel_png, shared_range, wav_mel

__all__ = ["PageReport", "build_samples_page"]

# per-utterance metrics shown next to each row when metrics.json has them (metric_table.py)
METRICS = pick("wer", "dnsmos_p808", "distill_mos", "dnsmos_ovrl", "mcd_db")


@dataclass
class PageReport:
    index: Path
    n_utterances: int
    systems: list[str]
    n_images: int
    vmin: float
    vmax: float
    problems: list[str] = field(default_factory=list)  # wavs without an image, and why


def _render_results(results_md: Path, out: Path) -> str:
    """RESULTS.md as HTML (raw HTML in it escaped); the local images it links copied to
    OUT/results/ and relinked."""
    if not results_md.is_file():
        return ""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(results_md.read_text(encoding="utf-8"))
    for token in tokens:
        for child in token.children or []:
            source = results_md.parent / str(child.attrGet("src") or "")
            if child.type == "image" and source.is_file():
                (out / "results").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, out / "results" / source.name)
                child.attrSet("src", f"results/{source.name}")
    return md.renderer.render(tokens, md.options, {})


def _settings(system: System) -> dict[str, str]:
    """What produced a system's audio: rtf.json of its synthesis and its train_summary.json."""
    values: dict[str, str] = {}
    for path, keys in ((system.wav_dir / "rtf.json", ("sampler", "steps", "rtf", "device")),
                       (system.wav_dir.parent / "train" / "train_summary.json",
                        ("criterion", "steps"))):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        prefix = "training " if path.name == "train_summary.json" else ""
        for key in keys:
            value = data.get(key)
            if value is not None:
                values[prefix + key] = f"{value:.3f}" if isinstance(value, float) else str(value)
    return values


def _metric_settings(systems: list[System]) -> str:
    """The metric settings of the first metrics.json found (every evaluation uses the same)."""
    for system in systems:
        try:
            data = json.loads(system.metrics_file.read_text(encoding="utf-8"))
        except (AttributeError, OSError, ValueError):
            continue
        if isinstance(data.get("settings"), dict):
            return ", ".join(f"{k}={v}" for k, v in data["settings"].items())
    return ""


def build_samples_page(
    exp_dir: str | Path,
    out: str | Path,
    steps: list[int],
    reference: str | Path | None = None,
    texts: str | Path | None = None,
    n_utterances: int | None = None,
    progress: bool = True,
) -> PageReport:
    """Write the page for the systems of `exp_dir` at the inference steps `steps`."""
    exp_dir, out = Path(exp_dir), Path(out)
    systems = find_systems(exp_dir, steps, Path(reference) if reference else None)
    ids = utterance_ids(systems, n_utterances)
    text_of = read_texts(Path(texts) if texts else None)
    for folder in ("audio", "mels", "results"):  # ours alone: regenerated whole every time
        shutil.rmtree(out / folder, ignore_errors=True)

    mels, problems = {}, []
    cells = [(s, i, s.wav(i)) for i in ids for s in systems]
    for system, utt_id, wav in tqdm(cells, desc="mel spectrograms", unit="wav",
                                    disable=not progress):
        if wav is None:
            continue
        target = out / "audio" / system.slug / f"{utt_id}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wav, target)
        try:
            mels[system.slug, utt_id] = wav_mel(wav)
        except AudioError as error:
            problems.append(str(error))
    if not mels:
        raise AudioError(f"none of the {len(cells)} wavs of the page could be read")
    vmin, vmax = shared_range(mels.values())
    for (slug, utt_id), mel in tqdm(mels.items(), desc="mel images", unit="png",
                                    disable=not progress):
        save_mel_png(mel, out / "mels" / slug / f"{utt_id}.png", vmin, vmax)
    save_colorbar_png(out / "mels" / "colorbar.png", vmin, vmax)

    shown = [metric for metric in METRICS
             if any(metric.key in s.metrics.get(i, {}) for s in systems for i in ids)]
    utterances = []
    for utt_id in ids:
        rows = []
        for system in systems:
            has_audio = system.wav(utt_id) is not None
            values = system.metrics.get(utt_id, {})
            rows.append({
                "label": system.label,
                "slug": system.slug,
                "audio": f"audio/{system.slug}/{utt_id}.wav" if has_audio else None,
                "image": f"mels/{system.slug}/{utt_id}.png"
                if (system.slug, utt_id) in mels else None,
                "image_error": "no image: silent or unreadable audio",
                "metrics": {m.key: m.format(values[m.key]) for m in shown if m.key in values},
            })
        utterances.append({"id": utt_id, "text": text_of.get(utt_id, ""), "rows": rows})

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(
        resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8")
    )
    html = template.render(
        title=f"Samples: {exp_dir.resolve().parent.name}/{exp_dir.name}",
        summary=(f"{len(ids)} test utterances, {len(systems)} systems; sampler steps "
                 f"K = {', '.join(map(str, sorted(set(steps))))} (K = 0: the prior mean μ alone)."),
        results_html=Markup(_render_results(exp_dir / "RESULTS.md", out)),
        setting_names=sorted({name for s in systems for name in _settings(s)}),
        settings=[{"label": s.label, "cells": _settings(s)} for s in systems],
        metric_settings=_metric_settings(systems),
        vmin=vmin, vmax=vmax, colorbar="mels/colorbar.png",
        metrics=[{"key": metric.key, "label": metric.header} for metric in shown],
        utterances=utterances,
        date=datetime.date.today().isoformat(),
    )
    index = out / "index.html"
    atomic_write_text(index, html)
    return PageReport(index, len(ids), [s.label for s in systems], len(mels), vmin, vmax, problems)

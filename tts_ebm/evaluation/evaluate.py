"""Folder-level evaluation: match `<id>.wav` files by id, score each pair, summarise with CIs.

Policy for imperfect inputs (so that a partly failed synthesis run still gets a report):
- ids present on one side only are listed (`missing_in_reference`, `missing_in_synthesized`)
  with a warning, and the common subset is evaluated; no common id at all is an error;
- files at another sample rate than the analysis rate (22 050 Hz) are resampled, with one
  warning per folder naming the rates;
- unreadable, empty or silent files are listed under `failed` with the reason and a warning;
  if every pair fails, that is an error.

Beside the distance metrics, non-intrusive judges score the synthesized side alone, at 16 kHz:
two MOS predictors, DNSMOS P.835/P.808 (`dnsmos.py`) and Distill-MOS (`distill_mos.py`), and,
for ids with a text, pocketsphinx WER (`asr.py`; the summary's `wer` is the corpus WER, word
errors / reference words). Without a reference folder only these run, which scores recordings
themselves (a ceiling row).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
from tqdm import tqdm

from data_prep.audio import load_audio
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import asr, metric_table
from tts_ebm.evaluation import distill_mos as distill_mos_judge
from tts_ebm.evaluation import dnsmos as dnsmos_judge
from tts_ebm.evaluation.feature_cache import cached_features
from tts_ebm.evaluation.metric_table import Source
from tts_ebm.evaluation.metrics import MetricSettings, compare_features, extract_features
from tts_ebm.statistics import corpus_wer, mean_ci95

SUMMARY_METRICS = metric_table.keys(Source.WAVEFORM, Source.DNSMOS, Source.DISTILL_MOS)
_SHOWN_IDS = 10


def list_wavs(folder: str | Path) -> dict[str, Path]:
    """`{id: path}` for the `<id>.wav` files directly inside `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"audio folder not found: {folder}")
    return {path.stem: path for path in sorted(folder.glob("*.wav")) if path.is_file()}


def _judge(path: Path, text: str | None, dnsmos: bool, p835: bool, distill_mos: bool) -> dict:
    """Non-intrusive scores of one file: DNSMOS if asked (P.835 too if `p835`), Distill-MOS if
    asked, WER if it has a text."""
    if not dnsmos and not distill_mos and text is None:
        return {}
    with warnings.catch_warnings():  # every file is resampled to 16 kHz; no news
        warnings.simplefilter("ignore")
        wav = load_audio(path, target_sr=asr.SAMPLE_RATE)
    scores = dnsmos_judge.dnsmos_scores(wav, p835=p835) if dnsmos else {}
    if distill_mos:
        scores["distill_mos"] = distill_mos_judge.distill_mos(wav)
    if text is not None:
        scores.update(asr.word_errors(text, asr.transcribe(wav)))
    return scores


class _Job(NamedTuple):
    """One utterance to score in a worker; `reference=None` runs the judges only."""

    utt_id: str
    reference: Path | None
    synthesized: Path
    settings: MetricSettings
    text: str | None
    dnsmos: bool
    p835: bool  # DNSMOS P.835 beside P.808
    distill_mos: bool
    reference_features: Path | None  # cache folder of the reference's features, or None


def _load(path: Path, sample_rate: int) -> np.ndarray:
    with warnings.catch_warnings():  # resampling is reported once per folder instead
        warnings.simplefilter("ignore")
        return load_audio(path, target_sr=sample_rate)


def _score_pair(job: _Job) -> tuple[str, dict | str, dict]:
    """(id, metrics or failure reason, {side: sample rate}) for one utterance; runs in a worker."""
    rates = {}
    try:
        rates["synthesized"] = sf.info(str(job.synthesized)).samplerate
        metrics = {}
        if job.reference is not None:
            rates["reference"] = sf.info(str(job.reference)).samplerate
            rate = job.settings.sample_rate
            reference = cached_features(job.reference_features, job.utt_id, job.reference,
                                        lambda: _load(job.reference, rate), job.settings)
            synthesized = extract_features(_load(job.synthesized, rate), job.settings)
            metrics = compare_features(reference, synthesized, job.settings)
        judged = _judge(job.synthesized, job.text, job.dnsmos, job.p835, job.distill_mos)
        return job.utt_id, metrics | judged, rates
    except (UserInputError, FileNotFoundError, RuntimeError, sf.LibsndfileError) as error:
        return job.utt_id, f"{type(error).__name__}: {error}", rates


def _run(jobs: list, workers: int) -> Iterator[tuple[str, dict | str, dict]]:
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_score_pair, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_score_pair, jobs, chunksize=1)


def _shown(ids: list[str]) -> str:
    more = f" … (+{len(ids) - _SHOWN_IDS} more)" if len(ids) > _SHOWN_IDS else ""
    return ", ".join(ids[:_SHOWN_IDS]) + more


def evaluate_folders(
    reference_dir: str | Path | None,
    synthesized_dir: str | Path,
    settings: MetricSettings | None = None,
    workers: int | None = None,
    progress: bool = True,
    texts: dict[str, str] | None = None,
    dnsmos: bool = False,
    reference_features: str | Path | None = None,
    p835: bool = True,
    distill_mos: bool = False,
) -> dict:
    """Per-utterance metrics and their means with 95 % CIs for two folders of `<id>.wav`.

    `texts` ({id: text}) adds pocketsphinx WER, `dnsmos` the DNSMOS scores, both on the
    synthesized files; `reference_dir=None` runs only these two (nothing is compared).
    `reference_features` is a cache folder for the reference's features (`feature_cache.py`),
    shared by the evaluations of every system against the same recordings. `p835=False` leaves
    out DNSMOS's P.835 model (97 % of its time); P.808 is unchanged. `distill_mos` adds the
    second MOS judge.
    """
    settings = settings or MetricSettings()
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if reference_dir is None and texts is None and not dnsmos and not distill_mos:
        raise UserInputError(
            "nothing to compute: without a reference folder only WER (needs a text file), "
            "DNSMOS and Distill-MOS run, and all are off"
        )
    references = list_wavs(reference_dir) if reference_dir else {}
    synthesized = list_wavs(synthesized_dir)
    if not synthesized:
        raise UserInputError(f"no .wav files in the synthesized folder {synthesized_dir}")
    if not reference_dir:  # every synthesized id stands alone, with None as its reference
        references = dict.fromkeys(synthesized)
    if not references:
        raise UserInputError(f"no .wav files in the reference folder {reference_dir}")
    common = sorted(set(references) & set(synthesized))
    missing_in_reference = sorted(set(synthesized) - set(references))
    missing_in_synthesized = sorted(set(references) - set(synthesized))
    if not common:
        raise UserInputError(
            f"no utterance id is in both {reference_dir} ({_shown(sorted(references))}) "
            f"and {synthesized_dir} ({_shown(sorted(synthesized))}); files must be named <id>.wav"
        )
    if missing_in_reference:
        warnings.warn(
            f"{len(missing_in_reference)} synthesized ids have no reference in {reference_dir}: "
            f"{_shown(missing_in_reference)}",
            stacklevel=2,
        )
    if missing_in_synthesized:
        warnings.warn(
            f"{len(missing_in_synthesized)} reference ids have no synthesized file in "
            f"{synthesized_dir}: {_shown(missing_in_synthesized)}",
            stacklevel=2,
        )

    if texts is not None:
        without_text = [i for i in common if i not in texts]
        if len(without_text) == len(common):
            raise UserInputError(
                f"no utterance of {synthesized_dir} has a text ({_shown(common)} vs. "
                f"{_shown(sorted(texts))} in the text file); lines must be 'id|text'"
            )
        if without_text:
            warnings.warn(
                f"{len(without_text)} ids have no text, so no WER: {_shown(without_text)}",
                stacklevel=2,
            )
    texts = texts or {}
    cache = Path(reference_features) if reference_features is not None else None
    jobs = [
        _Job(i, references[i], synthesized[i], settings, texts.get(i), dnsmos, p835,
             distill_mos, cache)
        for i in common
    ]
    utterances: dict[str, dict] = {}
    failed: dict[str, str] = {}
    rates: dict[str, set[int]] = {"reference": set(), "synthesized": set()}
    results = _run(jobs, workers)
    for utt_id, outcome, utt_rates in tqdm(
        results, total=len(jobs), desc="evaluate", unit="utt", disable=not progress
    ):
        for side, rate in utt_rates.items():
            rates[side].add(rate)
        if isinstance(outcome, str):
            failed[utt_id] = outcome
        else:
            utterances[utt_id] = outcome

    for side, side_rates in rates.items():
        other = sorted(side_rates - {settings.sample_rate})
        if other:
            warnings.warn(
                f"{side} files at {', '.join(map(str, other))} Hz were resampled to "
                f"{settings.sample_rate} Hz for analysis",
                stacklevel=2,
            )
    if failed:
        warnings.warn(
            f"{len(failed)} utterances could not be evaluated: "
            + "; ".join(f"{i}: {reason}" for i, reason in list(failed.items())[:_SHOWN_IDS]),
            stacklevel=2,
        )
    if not utterances:
        raise UserInputError(
            f"none of the {len(common)} common utterances could be evaluated; first failure: "
            f"{next(iter(failed.items()))}"
        )

    summary = {}
    if texts:
        scored = [m for m in utterances.values() if "word_errors" in m]
        summary["wer"] = corpus_wer(
            [m["word_errors"] for m in scored], [m["reference_words"] for m in scored]
        )
    for name in SUMMARY_METRICS:
        if any(name in m for m in utterances.values()):
            values = [m[name] for m in utterances.values() if m.get(name) is not None]
            summary[name] = mean_ci95(values)
    judges = ({"dnsmos": dnsmos_judge.DESCRIPTION, "dnsmos_models": "all" if p835 else "p808"}
              if dnsmos else {})
    if distill_mos:
        judges["distill_mos"] = distill_mos_judge.DESCRIPTION
    if texts:
        judges |= {"wer_recogniser": asr.RECOGNISER, "wer_text_normalization": asr.NORMALIZATION}
    return {
        "reference_dir": str(reference_dir) if reference_dir else None,
        "synthesized_dir": str(synthesized_dir),
        "settings": settings.to_dict() | judges,
        "counts": {
            "reference": len(references) if reference_dir else 0,
            "synthesized": len(synthesized),
            "common": len(common),
            "evaluated": len(utterances),
            "failed": len(failed),
        },
        "missing_in_reference": missing_in_reference,
        "missing_in_synthesized": missing_in_synthesized,
        "failed": failed,
        "summary": summary,
        "utterances": utterances,
    }


def to_markdown(result: dict) -> str:
    """Human-readable summary of an `evaluate_folders` result."""
    counts = result["counts"]
    lines = [
        "# Objective evaluation",
        "",
        f"- reference: `{result['reference_dir']}`"
        if result["reference_dir"]
        else "- reference: none (WER and MOS judges of the files themselves, nothing compared)",
        f"- synthesized: `{result['synthesized_dir']}`",
        (
            f"- utterances evaluated: {counts['evaluated']} of {counts['common']} common "
            f"({counts['failed']} failed, {len(result['missing_in_reference'])} without "
            f"reference, {len(result['missing_in_synthesized'])} without synthesis)"
        ),
        "",
        "| metric | mean | ± 95 % CI | std | n |",
        "|---|---|---|---|---|",
    ]
    for name, row in result["summary"].items():
        cells = [_fmt(row[key]) for key in ("mean", "ci95", "std")]
        lines.append(f"| {name} | {' | '.join(cells)} | {row['n']} |")
    for name in metric_table.keys(Source.NEURAL):
        if name in result:
            lines.append(f"| {name} | {_fmt(result[name]['mean'])} | – | – | {result[name]['n']} |")
    if (wer := result["summary"].get("wer")) and wer["n"]:
        note = (
            f"wer is the corpus WER: {wer['word_errors']} word errors / "
            f"{wer['reference_words']} reference words (95 % CI by the delta method; "
            f"unweighted mean of the utterance WERs {wer['utterance_mean']:.3f})"
        )
        lines += ["", note]
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in result["settings"].items())]
    if result["failed"]:
        lines += ["", "Failed:", *(f"- {i}: {reason}" for i, reason in result["failed"].items())]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"

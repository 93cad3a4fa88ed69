"""Checks of a corpus before training: every utterance that cannot be trained on is a fault,
everything that only looks wrong is a warning; both are listed by id, nothing is dropped.

Faults: missing, unreadable or empty wav; silent wav; empty text; text that yields no phonemes.
Warnings: clipping; an utterance far longer than the rest; a sample rate other than the
corpus's usual one (it is resampled, but a mix often means mixed sources); a wav in wavs/ that
metadata.csv does not list (it is not used).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from data_prep.audio import SILENCE_PEAK
from data_prep.corpora import read_language
from data_prep.corpora.folder import read_metadata
from data_prep.manifests import SPLITS, ManifestEntry, read_manifest
from tts_ebm.errors import UserInputError
from tts_ebm.text import is_speakable, normalize_for, phonemize

CLIP_LEVEL = 0.999  # |sample| at or above this is at full scale
CLIP_FRACTION = 0.001  # more than 0.1 % of samples at full scale is clipping
LONG_FACTOR = 3.0  # longer than 3x the median duration ...
LONG_MIN_S = 15.0  # ... and than 15 s: far longer than the rest


@dataclass
class Finding:
    id: str
    severity: str  # "fault" | "warning"
    problem: str


@dataclass
class CheckReport:
    n_utterances: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def faults(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fault"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def __str__(self) -> str:
        faulty = len({f.id for f in self.faults})
        head = (
            f"check-data: {self.n_utterances} utterances; {faulty} cannot be trained on "
            f"({len(self.faults)} faults); {len(self.warnings)} warnings"
        )
        lines = [head]
        width = max((len(f.id) for f in self.findings), default=0)
        for finding in sorted(self.findings, key=lambda f: (f.severity != "fault", f.id)):
            lines.append(f"{finding.severity.upper():8s}{finding.id:{width}s}  {finding.problem}")
        if self.faults:
            lines.append(
                "fix or remove the faulty utterances (from metadata.csv or the manifests) and "
                "run again; nothing is dropped for you"
            )
        return "\n".join(lines)


def _entries(path: Path, language: str | None) -> tuple[list[ManifestEntry], str, list[Finding]]:
    """Utterances of a corpus folder (metadata.csv + wavs/) or a manifest folder."""
    if (path / "metadata.csv").is_file():
        texts = read_metadata(path / "metadata.csv")
        entries = [ManifestEntry(u, str(path / "wavs" / f"{u}.wav"), t) for u, t in texts.items()]
        unlisted = sorted(
            Finding(wav.stem, "warning", "wav not listed in metadata.csv: not used")
            for wav in (path / "wavs").glob("*.wav")
            if wav.stem not in texts
        ) if (path / "wavs").is_dir() else []
        return entries, language or read_language(path / "manifests"), unlisted
    manifests = [path / f"{split}.tsv" for split in SPLITS if (path / f"{split}.tsv").is_file()]
    if not manifests:
        raise UserInputError(
            f"{path} holds neither metadata.csv (a corpus folder) nor {{train,val,test}}.tsv "
            "(a manifest folder)"
        )
    entries = [e for manifest in manifests for e in read_manifest(manifest)]
    return entries, language or read_language(path), []


def _check_audio(entry: ManifestEntry) -> tuple[list[Finding], float, int]:
    """Findings for one wav, its duration in seconds and its sample rate (0 when unreadable)."""
    wav = Path(entry.audio)
    if not wav.is_file():
        return [Finding(entry.id, "fault", f"missing wav: {wav}")], 0.0, 0
    try:
        data, rate = sf.read(wav, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        return [Finding(entry.id, "fault", f"unreadable wav {wav}: {error}")], 0.0, 0
    if data.size == 0:
        return [Finding(entry.id, "fault", f"empty wav (no samples): {wav}")], 0.0, rate
    samples = np.abs(data)
    peak = float(samples.max()) if np.isfinite(samples).all() else float("nan")
    if not np.isfinite(peak):
        return [Finding(entry.id, "fault", f"wav holds NaN or infinite samples: {wav}")], 0.0, rate
    findings = []
    if peak < SILENCE_PEAK:
        findings.append(Finding(entry.id, "fault", f"silent wav (peak {peak:.1e}): {wav}"))
    clipped = float((samples >= CLIP_LEVEL).mean())
    if clipped > CLIP_FRACTION:
        findings.append(
            Finding(entry.id, "warning", f"clipped: {100 * clipped:.2f} % of samples at full scale")
        )
    return findings, len(data) / rate, rate


def check_corpus(path: str | Path, language: str | None = None, progress: bool = True) -> CheckReport:
    """Check every utterance of a corpus folder or manifest folder (see the module docstring)."""
    path = Path(path)
    entries, language, findings = _entries(path, language)
    phonemes = phonemize([normalize_for(e.text, language) for e in entries], language)
    durations: dict[str, float] = {}
    rates: dict[str, int] = {}
    for entry, phones in tqdm(
        list(zip(entries, phonemes)), desc="check-data", unit="utt", disable=not progress
    ):
        if not entry.text.strip():
            findings.append(Finding(entry.id, "fault", "empty text"))
        elif not is_speakable(phones):
            findings.append(
                Finding(entry.id, "fault", f"text yields no phonemes ({language}): {entry.text!r}")
            )
        audio_findings, seconds, rate = _check_audio(entry)
        findings += audio_findings
        if rate:
            rates[entry.id] = rate
        if seconds:
            durations[entry.id] = seconds
    if durations:
        median = statistics.median(durations.values())
        limit = max(LONG_FACTOR * median, LONG_MIN_S)
        findings += [
            Finding(utt, "warning", f"long: {s:.1f} s, the median is {median:.1f} s")
            for utt, s in durations.items()
            if s > limit
        ]
    if len(set(rates.values())) > 1:
        usual = statistics.mode(rates.values())
        findings += [
            Finding(utt, "warning", f"sample rate {rate} Hz; most of the corpus is {usual} Hz")
            for utt, rate in rates.items()
            if rate != usual
        ]
    return CheckReport(len(entries), findings)

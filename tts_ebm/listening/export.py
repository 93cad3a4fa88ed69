"""Build a blind listening test from folders of `<utterance id>.wav` files.

Layout of OUT (only `webmushra/` or `stimuli/` and `manifest.csv` go to listeners):

    OUT/key.csv              stimulus id -> system, role, utterance, page (PRIVATE)
    OUT/export_report.json   settings, missing ids, resampled/clipped/limited files (PRIVATE)
    OUT/README.md            how to host and analyse
    OUT/manifest.csv         crowdsourcing manifest: stimulus_id, url, text (shuffled)
    OUT/webmushra/configs/<test id>.yaml + configs/resources/audio/<test id>/<id>.wav
    OUT/stimuli/<id>.wav     (format csv)
"""

from __future__ import annotations

import csv
import json
import random
import re
import secrets
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tts_ebm.errors import UserInputError
from tts_ebm.listening import stimuli as st
from tts_ebm.listening import webmushra
from tts_ebm.listening.collect import Condition, Selection, select_utterances
from tts_ebm.listening.readme import export_readme

FORMATS = ("webmushra-mushra", "webmushra-mos", "csv")
KEY_FIELDS = ["stimulus_id", "system", "role", "utterance_id", "page", "source"]
BUILTIN_ANCHORS = 2  # webMUSHRA's createAnchor35 and createAnchor70


@dataclass
class ExportOptions:
    out: Path
    format: str
    loudness: float = -23.0
    sample_rate: int = 22050
    n_utterances: int | None = None
    seed: int = 0
    texts: Path | None = None
    base_url: str | None = None
    test_id: str = "tts_ebm_listening_test"


@dataclass
class KeyRow:
    stimulus_id: str
    system: str
    role: str
    utterance_id: str
    page: str
    source: str


@dataclass
class ExportReport:
    """What the export did; also written to OUT/export_report.json."""

    n_stimuli: int = 0
    utterance_ids: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    resampled: dict[str, int] = field(default_factory=dict)  # source -> original rate
    clipped: list[str] = field(default_factory=list)
    limited: list[str] = field(default_factory=list)
    off_target: dict[str, float] = field(default_factory=dict)
    loudness_range: tuple[float, float] = (0.0, 0.0)
    warnings: list[str] = field(default_factory=list)


def read_texts(path: Path) -> dict[str, str]:
    """`id|text` per line (LJSpeech metadata works too: the first text column is used)."""
    texts: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt_id, sep, rest = line.partition("|")
        if not sep:
            raise UserInputError(f"{path}:{number}: expected 'id|text', got {line!r}")
        texts[utt_id.strip()] = rest.split("|")[0].strip()
    return texts


def _sanitise_test_id(test_id: str) -> str:
    """webMUSHRA names the results folder after the lower-cased, sanitised testId."""
    clean = re.sub(r"[^a-z0-9_-]+", "-", test_id.lower()).strip("-")
    if not clean:
        raise UserInputError(f"--test-id {test_id!r} has no usable characters (a-z, 0-9, _ -)")
    return clean


class _Writer:
    """Processes and writes stimuli; owns the anonymous id generator and the report."""

    def __init__(
        self, options: ExportOptions, report: ExportReport, channels: int, audio_dir: Path
    ):
        self.options = options
        self.report = report
        self.channels = channels
        self.audio_dir = audio_dir
        self.rng = random.Random(f"orders-{options.seed}")  # page/condition/manifest order
        self.used: set[str] = set()
        self.loudness: list[float] = []

    def new_id(self) -> str:
        """Unpredictable 40-bit id (not derived from --seed): two exports never share ids,
        so results analysed against the wrong key fail loudly instead of mapping silently."""
        while True:  # the letter prefix keeps YAML keys strings
            stimulus_id = f"s{secrets.token_hex(5)}"
            if stimulus_id not in self.used:
                self.used.add(stimulus_id)
                return stimulus_id

    def load(self, condition: Condition, utterance_id: str) -> st.SourceAudio:
        path = condition.path(utterance_id)
        source = st.load_source(path, self.options.sample_rate)
        if source.original_rate != self.options.sample_rate:
            self.report.resampled[str(path)] = source.original_rate
        if source.clipped:
            self._warn(f"source file looks clipped (runs of full-scale samples): {path}")
            self.report.clipped.append(str(path))
        return source

    def write(self, source: st.SourceAudio, n_samples: int | None = None) -> Path:
        """Pad (MUSHRA), lay out channels, normalise loudness, write; returns the file path."""
        mono = source.audio if n_samples is None else st.pad_to(source.audio, n_samples)
        result = st.normalise_loudness(
            st.to_layout(mono, self.channels),
            self.options.sample_rate,
            self.options.loudness,
            source.path,
        )
        if result.limited:
            self.report.limited.append(str(source.path))
        if not result.within_tolerance:
            self.report.off_target[str(source.path)] = round(result.loudness, 2)
            self._warn(
                f"{source.path}: reaches only {result.loudness:.1f} LUFS (target "
                f"{self.options.loudness:.1f}) without clipping; a lower --loudness avoids this"
            )
        self.loudness.append(result.loudness)
        path = self.audio_dir / f"{self.new_id()}.wav"
        st.write_pcm16(path, result.audio, self.options.sample_rate)
        return path

    def _warn(self, message: str) -> None:
        self.report.warnings.append(message)
        warnings.warn(message, stacklevel=3)


def _check_mushra(selection: Selection) -> None:
    roles = [c.role for c in selection.conditions]
    if "reference" not in roles:
        raise UserInputError(
            "webmushra-mushra needs --reference DIR (MUSHRA rates conditions against a "
            "reference); use --format webmushra-mos for a test without one"
        )
    rated = len(roles) - 1 + 1 + BUILTIN_ANCHORS  # conditions + hidden reference + anchors
    if rated > webmushra.MAX_MUSHRA_CONDITIONS:
        raise UserInputError(
            f"a MUSHRA page would have {rated} rated conditions ({len(roles) - 1} systems/"
            f"anchors + hidden reference + 3.5/7 kHz anchors); at most "
            f"{webmushra.MAX_MUSHRA_CONDITIONS} are allowed (ITU-R BS.1534-3): drop systems "
            "or split them over two tests"
        )


def _export_mushra(
    selection: Selection, writer: _Writer, web_root: Path
) -> tuple[list[KeyRow], list[webmushra.MushraTrial]]:
    """One page per utterance (pages and conditions shuffled); files padded to one length."""
    key: list[KeyRow] = []
    trials: list[webmushra.MushraTrial] = []
    order = list(selection.utterance_ids)
    writer.rng.shuffle(order)
    for number, utt in enumerate(order, 1):
        page = f"trial{number:02d}"
        sources = {c.name: (c, writer.load(c, utt)) for c in selection.conditions}
        n_samples = max(s.audio.shape[0] for _, s in sources.values())
        reference, stimuli = "", {}
        items = list(sources.values())
        writer.rng.shuffle(items)
        for condition, source in items:
            path = writer.write(source, n_samples)
            rel = path.relative_to(web_root).as_posix()
            key.append(
                KeyRow(
                    path.stem, condition.name, condition.role, utt, page, str(source.path.resolve())
                )
            )
            if condition.role == "reference":
                reference = rel
            else:
                stimuli[path.stem] = rel
        trials.append(webmushra.MushraTrial(page, reference, stimuli))
    return key, trials


def _export_single(selection: Selection, writer: _Writer, page: str) -> list[KeyRow]:
    """Every (condition, utterance) as its own stimulus, in shuffled order."""
    key = []
    for utt in selection.utterance_ids:
        for condition in selection.conditions:
            source = writer.load(condition, utt)
            path = writer.write(source)
            key.append(
                KeyRow(
                    path.stem, condition.name, condition.role, utt, page, str(source.path.resolve())
                )
            )
    writer.rng.shuffle(key)
    return key


def _write_key(key: list[KeyRow], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=KEY_FIELDS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in key)


def _write_manifest(
    key: list[KeyRow],
    locations: dict[str, str],
    texts: dict[str, str],
    path: Path,
    rng: random.Random,
) -> None:
    rows = [
        {
            "stimulus_id": r.stimulus_id,
            "url": locations[r.stimulus_id],
            "text": texts.get(r.utterance_id, ""),
        }
        for r in key
    ]
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["stimulus_id", "url", "text"])
        writer.writeheader()
        writer.writerows(rows)


def export_listening_test(conditions: list[Condition], options: ExportOptions) -> ExportReport:
    """Select common utterances, write anonymous normalised stimuli, config, manifest and key."""
    if options.format not in FORMATS:
        raise UserInputError(f"unknown --format {options.format!r}; choose from {FORMATS}")
    if options.sample_rate < 8000:
        raise UserInputError(f"--sample-rate {options.sample_rate} is too low for speech (>= 8000)")
    test_id = _sanitise_test_id(options.test_id)
    out = Path(options.out)
    if out.exists() and any(out.iterdir()):
        raise UserInputError(f"--out {out} is not empty; choose a new folder (old keys would mix)")
    selection = select_utterances(conditions, options.n_utterances, options.seed)
    if options.format == "webmushra-mushra":
        _check_mushra(selection)
    texts = read_texts(options.texts) if options.texts else {}

    report = ExportReport(utterance_ids=selection.utterance_ids, missing=selection.missing)
    for name, ids in selection.missing.items():
        report.warnings.append(f"{name} lacks {len(ids)} utterance(s): {', '.join(ids[:10])}")
        warnings.warn(report.warnings[-1], stacklevel=2)
    web = options.format.startswith("webmushra")
    web_root = out / "webmushra"
    audio_dir = web_root / "configs" / "resources" / "audio" / test_id if web else out / "stimuli"
    writer = _Writer(options, report, channels=2 if web else 1, audio_dir=audio_dir)

    if options.format == "webmushra-mushra":
        key, trials = _export_mushra(selection, writer, web_root)
        config = webmushra.mushra_config(trials, "Speech quality (MUSHRA)", test_id)
    else:
        key = _export_single(selection, writer, page="mos" if web else "")
        config = None
        if web:
            stimuli = {
                r.stimulus_id: (audio_dir / f"{r.stimulus_id}.wav").relative_to(web_root).as_posix()
                for r in key
            }
            config = webmushra.mos_config(stimuli, "Speech quality (MOS)", test_id)
    if config is not None:
        webmushra.write_config(config, web_root / "configs" / f"{test_id}.yaml")

    base = options.base_url.rstrip("/") + "/" if options.base_url else None
    locations = {
        r.stimulus_id: (base + f"{r.stimulus_id}.wav")
        if base
        else (audio_dir / f"{r.stimulus_id}.wav").relative_to(out).as_posix()
        for r in key
    }
    _write_key(key, out / "key.csv")
    _write_manifest(key, locations, texts, out / "manifest.csv", writer.rng)
    report.n_stimuli = len(key)
    report.loudness_range = (round(min(writer.loudness), 2), round(max(writer.loudness), 2))
    settings = asdict(options) | {
        "out": str(out),
        "texts": str(options.texts or ""),
        "test_id": test_id,
    }
    (out / "export_report.json").write_text(
        json.dumps({"settings": settings, "report": asdict(report)}, indent=2), encoding="utf-8"
    )
    (out / "README.md").write_text(export_readme(options.format, test_id, report), encoding="utf-8")
    return report

"""Read listening-test results and join them with the private key.

Accepted inputs (format detected from the CSV header):
- webMUSHRA `mushra.csv`: session_uuid, trial_id, rating_stimulus, rating_score, ...
  (`rating_stimulus` is our stimulus id, or `reference` / `anchor35` / `anchor70` for the
  hidden reference and webMUSHRA's generated anchors of page `trial_id`);
- webMUSHRA `lss.csv` (likert single stimulus): trial_id, stimuli_rating (or
  stimuli_rating1 ...), stimuli, and session_uuid where the webMUSHRA version writes it;
- a crowdsourcing CSV: stimulus_id, worker_id | listener_id, score.

Rows naming a stimulus or page that is not in the key are an error listing them: a wrong key
would otherwise silently produce wrong numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tts_ebm.errors import UserInputError

LISTENER_COLUMNS = ("session_uuid", "listener_id", "worker_id", "listener", "worker", "WorkerId")
SCORE_RANGE = {"mushra": (0.0, 100.0), "lss": (1.0, 5.0), "crowd": (1.0, 5.0)}
GENERATED_ANCHORS = ("anchor35", "anchor70")


@dataclass(frozen=True)
class Rating:
    listener: str  # "" when the results do not identify listeners
    system: str
    role: str  # system, reference, anchor
    utterance: str
    page: str
    score: float


@dataclass(frozen=True)
class KeyEntry:
    stimulus_id: str
    system: str
    role: str
    utterance_id: str
    page: str


def read_key(path: Path) -> dict[str, KeyEntry]:
    """key.csv written by the export: stimulus id -> entry."""
    rows = _read_csv(path)
    needed = {"stimulus_id", "system", "role", "utterance_id", "page"}
    if rows and not needed <= rows[0].keys():
        raise UserInputError(f"{path} is not a listening-test key (needs columns {sorted(needed)})")
    return {r["stimulus_id"]: KeyEntry(**{k: r[k] for k in needed}) for r in rows}


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"file not found: {path}")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(handle)
        ]
    if not rows:
        raise UserInputError(f"{path} has no data rows")
    return rows


def results_file(results: Path) -> Path:
    """A CSV file as given, or the single mushra.csv / lss.csv in a webMUSHRA results folder."""
    results = Path(results)
    if results.is_file():
        return results
    if not results.is_dir():
        raise FileNotFoundError(f"results not found: {results}")
    found = [results / name for name in ("mushra.csv", "lss.csv") if (results / name).is_file()]
    if len(found) != 1:
        raise UserInputError(
            f"{results} must contain exactly one of mushra.csv / lss.csv (found "
            f"{[p.name for p in found]}); pass the CSV file itself"
        )
    return found[0]


def detect_kind(columns: set[str], path: Path) -> str:
    if {"rating_stimulus", "rating_score", "trial_id"} <= columns:
        return "mushra"
    if "stimuli" in columns and ({"stimuli_rating", "stimuli_rating1"} & columns):
        return "lss"
    if {"stimulus_id", "score"} <= columns:
        return "crowd"
    raise UserInputError(
        f"{path}: unknown results format (columns {sorted(columns)}); expected webMUSHRA "
        "mushra.csv / lss.csv or a CSV with stimulus_id, worker_id, score"
    )


def _score(text: str, kind: str, path: Path, line: int) -> float:
    low, high = SCORE_RANGE[kind]
    try:
        score = float(text)
    except ValueError:
        raise UserInputError(f"{path}:{line}: score {text!r} is not a number") from None
    if not low <= score <= high:
        raise UserInputError(f"{path}:{line}: score {score:g} outside {low:g}..{high:g}")
    return score


def _listener_column(columns: set[str], override: str | None, path: Path) -> str | None:
    if override:
        if override not in columns:
            raise UserInputError(f"{path} has no column {override!r} (--listener-column)")
        return override
    return next((c for c in LISTENER_COLUMNS if c in columns), None)


def read_ratings(
    results: Path, key: dict[str, KeyEntry], listener_column: str | None = None
) -> tuple[str, list[Rating]]:
    """Ratings joined with the key; returns the detected kind and the ratings."""
    path = results_file(results)
    rows = _read_csv(path)
    columns = set(rows[0])
    kind = detect_kind(columns, path)
    listener_col = _listener_column(columns, listener_column, path)
    if kind == "mushra" and listener_col is None:
        raise UserInputError(
            f"{path}: no listener column ({'/'.join(LISTENER_COLUMNS)}); pass --listener-column"
        )
    reference_of_page = {e.page: e for e in key.values() if e.role == "reference"}
    ratings, unknown = [], []
    for line, row in enumerate(rows, 2):
        if kind == "mushra":
            stimulus, page, text = row["rating_stimulus"], row["trial_id"], row["rating_score"]
        elif kind == "lss":
            stimulus, page = row["stimuli"], row.get("trial_id", "")
            text = row.get("stimuli_rating", row.get("stimuli_rating1", ""))
        else:
            stimulus, page, text = row["stimulus_id"], "", row["score"]
        listener = row[listener_col] if listener_col else ""
        score = _score(text, kind, path, line)
        if stimulus in key:
            e = key[stimulus]
            ratings.append(Rating(listener, e.system, e.role, e.utterance_id, e.page, score))
        elif (
            kind == "mushra"
            and page in reference_of_page
            and stimulus in ("reference", *GENERATED_ANCHORS)
        ):
            ref = reference_of_page[page]
            role = "reference" if stimulus == "reference" else "anchor"
            system = ref.system if stimulus == "reference" else stimulus
            ratings.append(Rating(listener, system, role, ref.utterance_id, page, score))
        else:
            unknown.append(f"line {line}: {stimulus!r}" + (f" (page {page!r})" if page else ""))
    if unknown:
        raise UserInputError(
            f"{path}: {len(unknown)} row(s) reference stimuli not in the key (wrong --key?): "
            + "; ".join(unknown[:10])
            + (" ..." if len(unknown) > 10 else "")
        )
    return kind, ratings

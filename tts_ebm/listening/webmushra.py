"""webMUSHRA YAML configs (keys as documented in webMUSHRA's doc/experimenter.md).

Only anonymous ids reach the YAML: listeners can download it from the server, so page ids,
condition keys and file paths must not reveal systems or utterances. Condition keys are the
stimulus ids, which is also what webMUSHRA writes back as `rating_stimulus` / `stimuli`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

MOS_SCALE = [(1, "Bad"), (2, "Poor"), (3, "Fair"), (4, "Good"), (5, "Excellent")]
MAX_MUSHRA_CONDITIONS = 12  # ITU-R BS.1534-3 and webMUSHRA's validator


@dataclass
class MushraTrial:
    page_id: str
    reference: str  # path relative to the webMUSHRA root
    stimuli: dict[str, str]  # stimulus id -> path


def _header(test_name: str, test_id: str) -> dict:
    return {
        "testname": test_name,
        "testId": test_id,
        "bufferSize": 2048,
        "stopOnErrors": True,
        "showButtonPreviousPage": False,
        "remoteService": "service/write.php",
    }


def _welcome(content: str) -> dict:
    return {"type": "generic", "id": "welcome", "name": "Welcome", "content": content}


def _finish() -> dict:
    return {
        "type": "finish",
        "name": "Thank you",
        "content": "Thank you for taking part. Your answers have been saved.",
        "showResults": False,
        "writeResults": True,
    }


def mushra_config(
    trials: list[MushraTrial], test_name: str, test_id: str, anchors35_70: bool = True
) -> dict:
    """One `mushra` page per utterance, pages in random order for every listener."""
    pages = [
        {
            "type": "mushra",
            "id": trial.page_id,
            "name": f"Trial {i + 1} of {len(trials)}",
            "content": "Rate the quality of each condition against the reference (0-100).",
            "showWaveform": False,
            "enableLooping": True,
            "randomize": True,
            "showConditionNames": False,
            "reference": trial.reference,
            "createAnchor35": anchors35_70,
            "createAnchor70": anchors35_70,
            "stimuli": dict(trial.stimuli),
        }
        for i, trial in enumerate(trials)
    ]
    welcome = _welcome(
        "In each trial, compare every condition with the reference and rate its overall "
        "quality from 0 (bad) to 100 (excellent). One condition is the hidden reference. "
        "Please use headphones in a quiet room."
    )
    return _header(test_name, test_id) | {"pages": [welcome, ["random", *pages], _finish()]}


def mos_config(stimuli: dict[str, str], test_name: str, test_id: str) -> dict:
    """One `likert_single_stimulus` entry: webMUSHRA shows each stimulus on its own page
    in a fresh random order per listener."""
    page = {
        "type": "likert_single_stimulus",
        "id": "mos",
        "name": "Quality",
        "content": "How natural does this speech sound?",
        "mustRate": True,
        "mustPlayback": "ended",
        "stimuli": dict(stimuli),
        "response": [{"value": v, "label": label} for v, label in MOS_SCALE],
    }
    welcome = _welcome(
        "You will hear short speech recordings one at a time. Rate each on a scale from "
        "1 (Bad) to 5 (Excellent). Please use headphones in a quiet room."
    )
    return _header(test_name, test_id) | {"pages": [welcome, page, _finish()]}


def write_config(config: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")

"""The README.md written into every export: how to host the test and analyse the results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tts_ebm.listening.export import ExportReport

_PRIVATE = """\
`key.csv` and `export_report.json` reveal which system made which stimulus: keep them out of
anything listeners can reach. Listeners may see only {served} and `manifest.csv`.
"""

_WEBMUSHRA = """\
## Hosting with webMUSHRA

1. Get webMUSHRA (https://github.com/audiolabs/webMUSHRA, release package).
2. Copy `webmushra/configs/{test_id}.yaml` into webMUSHRA's `configs/` and the folder
   `webmushra/configs/resources/audio/{test_id}/` into `configs/resources/audio/`
   (or simply `cp -r webmushra/configs/* WEBMUSHRA/configs/`).
3. Serve it with PHP, e.g. `php -S localhost:8000` in the webMUSHRA folder, or with its
   Dockerfile (`docker build -t webmushra . && docker run -p 8000:80 webmushra`).
4. Listeners open `http://HOST:8000/?config={test_id}.yaml`.
5. Results land in webMUSHRA's `results/{test_id}/` ({results_file}).
"""

_CSV = """\
## Crowdsourcing

Upload `stimuli/` to a web server (or pass `--base-url` at export time so that the `url`
column of `manifest.csv` is already absolute) and load `manifest.csv` into the platform as
one task per row. Collect one row per rating with the columns `stimulus_id`, `worker_id`
(or `listener_id`) and `score` (1 Bad ... 5 Excellent).
"""

_ANALYSE = """\
## Analysis

    tts-ebm analyze-listening-test {results} --key key.csv --out analysis/

writes `analysis/results.md` (per-system scores with 95 % confidence intervals, listener
screening, Holm-corrected pairwise tests), `analysis/results.json` and `analysis/scores.png`.
"""


def export_readme(fmt: str, test_id: str, report: ExportReport) -> str:
    """Markdown README for an export in format `fmt`."""
    web = fmt.startswith("webmushra")
    results_file = "mushra.csv" if fmt == "webmushra-mushra" else "lss.csv"
    lines = [
        f"# Listening test `{test_id}` ({fmt})\n",
        (
            f"{report.n_stimuli} stimuli from {len(report.utterance_ids)} utterances, loudness "
            f"{report.loudness_range[0]} to {report.loudness_range[1]} LUFS (BS.1770).\n"
        ),
        _PRIVATE.format(served="`webmushra/`" if web else "`stimuli/`"),
        (_WEBMUSHRA.format(test_id=test_id, results_file=results_file) if web else _CSV),
        _ANALYSE.format(results=f"WEBMUSHRA/results/{test_id}/" if web else "ratings.csv"),
    ]
    return "\n".join(lines)

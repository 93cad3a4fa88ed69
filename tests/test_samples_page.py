"""tts-ebm samples-page: the page's structure, paths, escaping and shared colour scale."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import write_tone
from headless_chromium import Browser, chromium_path
from PIL import Image

from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.samples_page import build_samples_page

IDS = ["LJ050-0001", "LJ050-0002"]
EVIL_TEXT = 'He said "<script>alert(1)</script>" & left.'


def make_exp(root: Path) -> Path:
    """A recipe-shaped experiment: reference (and its scores in EXP/reference/eval), copy
    synthesis, two criteria at K = 0 and 4."""
    exp = root / "exp"
    folders = {
        root / "ref": 220.0,
        exp / "copy_synthesis" / "synth": 230.0,
        exp / "delta" / "synth_K0": 240.0,
        exp / "delta" / "synth_K4": 250.0,
        exp / "dsm" / "synth_K4": 260.0,
        exp / "dsm" / "synth_K10": 270.0,  # not asked for: not shown
    }
    for folder, freq in folders.items():
        for n, utt_id in enumerate(IDS):
            write_tone(folder / f"{utt_id}.wav", seconds=0.4 + 0.2 * n, freq=freq,
                       amplitude=0.2 + 0.2 * n)
    (exp / "dsm" / "synth_K4" / f"{IDS[1]}.wav").unlink()  # a missing utterance
    (exp / "delta" / "synth_K4" / "rtf.json").write_text(
        json.dumps({"rtf": 0.0123, "steps": 4, "sampler": "langevin", "device": "cpu"}))
    (exp / "delta" / "eval_K4").mkdir()
    (exp / "delta" / "eval_K4" / "metrics.json").write_text(json.dumps({
        "settings": {"sample_rate": 22050},
        "summary": {"wer": {"mean": 0.25, "std": 0.1, "ci95": 0.2, "n": 2}},
        "utterances": {IDS[0]: {"wer": 0.25, "dnsmos_p808": 3.456, "mcd_db": 7.0},
                       IDS[1]: {"wer": 0.0, "transcript": "words"}},
    }))
    for folder, value in (("reference", 4.25), ("copy_synthesis", 3.5)):
        (exp / folder / "eval").mkdir(parents=True)
        (exp / folder / "eval" / "metrics.json").write_text(json.dumps(
            {"utterances": {IDS[0]: {"dnsmos_p808": value}}}))
    (exp / "RESULTS.md").write_text(
        "# Results\n\n| criterion | MCD |\n|---|---|\n| delta | 7.00 <b>x</b> |\n\n"
        "![MCD vs K](quality_vs_steps.png)\n")
    Image.new("RGB", (8, 8), "white").save(exp / "quality_vs_steps.png")
    (root / "texts.txt").write_text(f"{IDS[0]}|{EVIL_TEXT}\n{IDS[1]}|Second one.\n")
    return exp


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    exp = make_exp(root)
    code = main(["samples-page", "--exp-dir", str(exp), "--reference", str(root / "ref"),
                 "--texts", str(root / "texts.txt"), "--steps", "0", "4", "--no-progress"])
    assert code == 0
    return exp / "samples"


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: Path) -> Elements:
    elements = Elements()
    elements.feed((page / "index.html").read_text(encoding="utf-8"))
    return elements


def test_one_row_per_system_in_paper_order(page: Path) -> None:
    html = (page / "index.html").read_text(encoding="utf-8")
    for utt_id in IDS:
        section = html.split(f'id="utt-{utt_id}"')[1].split("</section>")[0]
        assert re.findall(r'data-system="([^"]+)"', section) == [
            "reference", "copy-synthesis", "delta_K0", "delta_K4", "dsm_K4"]
    assert "μ alone (K = 0)" in html and "dsm_K10" not in html
    assert html.count("no audio for this utterance") == 1  # dsm K=4 lacks the second id


def test_every_source_is_relative_and_exists(page: Path) -> None:
    tags = parse(page).tags
    audio = [a["src"] for tag, a in tags if tag == "audio"]
    images = [a["src"] for tag, a in tags if tag == "img"]
    assert len(audio) == 2 * 5 - 1 and len(images) == len(audio) + 2  # + colour bar, plot
    for src in audio + images:
        assert not src.startswith(("/", "http", "file:")) and ".." not in src
        assert (page / src).is_file() and not (page / src).is_symlink()
    assert all("controls" in a for tag, a in tags if tag == "audio")
    assert not [a for tag, a in tags if tag in ("script", "link")]  # no JavaScript, no CDN


def test_nothing_loads_before_it_is_needed(page: Path) -> None:
    """500 test utterances make thousands of players and images: the page must not fetch
    them all when it opens (audio on play, mel images when scrolled to)."""
    tags = parse(page).tags
    assert all(a["preload"] == "none" for tag, a in tags if tag == "audio")
    mels = [a for tag, a in tags if tag == "img" and "mel" in a.get("class", "").split()]
    assert mels and all(a["loading"] == "lazy" for a in mels)


def test_audio_is_copied_unchanged(page: Path) -> None:
    exp = page.parent
    assert (page / "audio/delta_K4/LJ050-0001.wav").read_bytes() == (
        exp / "delta/synth_K4/LJ050-0001.wav").read_bytes()


def test_text_is_escaped_and_shown(page: Path) -> None:
    html = (page / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp; left." in html
    assert EVIL_TEXT in "".join(parse(page).text)  # the user reads the original text


def test_metrics_results_and_settings(page: Path) -> None:
    html = (page / "index.html").read_text(encoding="utf-8")
    section = html.split('id="utt-LJ050-0001"')[1].split("</section>")[0]
    row = section.split('data-system="delta_K4"')[1].split("</tr>")[0]
    assert re.findall(r'class="metric">([^<]*)<', row) == ["25.0", "3.46", "7.00"]
    for system, p808 in (("reference", "4.25"), ("copy-synthesis", "3.50")):
        row = section.split(f'data-system="{system}"')[1].split("</tr>")[0]
        assert re.findall(r'class="metric">([^<]*)<', row) == ["", p808, ""]
    header = html.split("<h2>Samples</h2>")[0]
    assert "<th>WER [%]</th>" in section and "DNSMOS OVRL" not in html  # no row has it
    assert "<table>" in header and "<td>delta</td>" in header  # RESULTS.md table as HTML
    assert 'src="results/quality_vs_steps.png"' in header
    assert "langevin" in header and "0.012" in header  # rtf.json of delta K=4


def test_mel_images_share_one_colour_scale(page: Path) -> None:
    """Loud and quiet tones: with one scale the quiet one's brightest pixel is darker."""
    quiet = np.asarray(Image.open(page / "mels/reference/LJ050-0001.png").convert("L"))
    loud = np.asarray(Image.open(page / "mels/reference/LJ050-0002.png").convert("L"))
    assert quiet.shape[0] == loud.shape[0] == 80
    assert quiet.shape[1] < loud.shape[1]  # one pixel per frame
    assert loud.max() > quiet.max() + 5


def test_rerun_replaces_the_page(tmp_path: Path) -> None:
    exp = make_exp(tmp_path)
    stale = exp / "samples" / "audio" / "gone" / "x.wav"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    report = build_samples_page(exp, exp / "samples", [4], progress=False)
    assert not stale.exists() and report.n_utterances == 2
    assert report.systems == ["copy synthesis (vocoder on reference mels)", "delta, K = 4",
                              "dsm, K = 4"]  # no --reference; EXP/reference/ has no wavs


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="experiment folder"):
        build_samples_page(tmp_path / "nope", tmp_path / "out", [4])
    (tmp_path / "exp" / "delta" / "synth_K4").mkdir(parents=True)
    with pytest.raises(UserInputError, match="no synthesised test set"):
        build_samples_page(tmp_path / "exp", tmp_path / "out", [4])


AUDIO_STATES = """Promise.all([...document.querySelectorAll('audio')].map(a => new Promise(done => {
  const report = () => done({src: a.getAttribute('src'), readyState: a.readyState,
                             duration: a.duration, error: a.error && a.error.code});
  if (a.readyState >= 4) return report();
  a.addEventListener('canplaythrough', report, {once: true});
  a.addEventListener('error', report, {once: true});
  a.preload = 'auto';
  a.load();
})))"""
IMAGE_STATES = """Promise.all([...document.images].map(async i => {
  i.loading = 'eager';  // the mel images load lazily, when scrolled to
  await i.decode().catch(() => null);
  return [i.getAttribute('src'), i.naturalWidth];
}))"""


@pytest.mark.skipif(chromium_path() is None,
                    reason="needs a headless browser: apt-get install chromium "
                           "(scripts/install_system_deps.sh installs it)")
def test_page_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    """Opened from file:// in a real browser: no console errors, every audio element decodes
    to the duration of its wav, every image loads, and the screenshot shows the grid."""
    with Browser() as browser:
        browser.open((page / "index.html").resolve().as_uri())
        audio = browser.evaluate(AUDIO_STATES)
        images = browser.evaluate(IMAGE_STATES)
        errors = browser.console_errors()
        browser.screenshot(tmp_path / "page.png")
    assert errors == []
    assert len(audio) == 9
    for state in audio:
        assert state["error"] is None and state["readyState"] == 4, state
        assert state["duration"] == pytest.approx(sf.info(page / state["src"]).duration,
                                                  abs=0.01)
    assert len(images) == 11 and all(width > 0 for _, width in images), images
    shot = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    assert shot.shape[1] >= 1300 and shot.shape[0] > 900  # the whole page, taller than a screen
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 50  # text, players and mel images

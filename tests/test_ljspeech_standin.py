"""The LJSpeech stand-in: real layout and ids, resumable, and taken for LJSpeech by the recipe."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf

from data_prep.ljspeech import prepare
from data_prep.ljspeech_standin import MARKER, build_standin, main
from data_prep.manifests import corpus_sentences, read_manifest, standard_split
from data_prep.voices import DEFAULT_VOICE, festival

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv that runs the tests also provides tts-ebm
N = 3
needs_festival = pytest.mark.skipif(
    shutil.which("festival") is None or not festival.SLT.file.is_file(),
    reason="needs festival and festvox-us-slt-hts",
)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in of the first N clips (the folder given as --out)."""
    if shutil.which("festival") is None or not festival.SLT.file.is_file():
        pytest.skip("needs festival and festvox-us-slt-hts")
    out = tmp_path_factory.mktemp("standin")
    build_standin(out, jobs=2, limit=N)
    return out


def test_layout_ids_and_audio_format_are_ljspeech(standin: Path) -> None:
    corpus = standin / "LJSpeech-1.1"
    rows = [line.split("|") for line in (corpus / "metadata.csv").read_text().splitlines()]
    first = list(corpus_sentences().items())[:N]
    assert [(r[0], r[1], r[2]) for r in rows] == [(u, t, t) for u, t in first]
    assert sorted(p.name for p in (corpus / "wavs").iterdir()) == [f"{u}.wav" for u, _ in first]
    for utt, _ in first:
        info = sf.info(corpus / "wavs" / f"{utt}.wav")
        assert (info.samplerate, info.channels, info.subtype, info.format) == (
            22050, 1, "PCM_16", "WAV"
        )
        assert info.duration > 1.0
    assert "stand-in" in (corpus / MARKER).read_text()


def test_rerun_speaks_only_what_is_missing_or_broken(
    standin: Path, spy_on_voice: Callable[[str], list[str]]
) -> None:
    wavs = standin / "LJSpeech-1.1" / "wavs"
    before = {p.name: p.stat().st_mtime_ns for p in wavs.iterdir()}
    spoken = spy_on_voice(DEFAULT_VOICE)
    assert build_standin(standin, jobs=1, limit=N)[1:] == (N, 0)
    assert spoken == [] and {p.name: p.stat().st_mtime_ns for p in wavs.iterdir()} == before

    broken = sorted(before)[1]
    (wavs / broken).write_bytes(b"RIFF, cut short")  # what a killed run would have left
    assert build_standin(standin, jobs=1, limit=N)[1:] == (N, 1)
    assert spoken == [broken] and sf.info(wavs / broken).subtype == "PCM_16"
    assert sorted(p.name for p in wavs.iterdir()) == sorted(before)  # no temporary files left


def test_ljspeech_prepare_takes_it_for_the_corpus(standin: Path, tmp_path: Path) -> None:
    report = prepare(standin, tmp_path / "manifests", download_missing=True)  # nothing to fetch
    split = standard_split()
    first = list(corpus_sentences())[:N]
    expected = {name: [u for u in ids if u in first] for name, ids in split.items()}  # split order
    assert report.counts == {name: len(ids) for name, ids in expected.items()}
    train = read_manifest(tmp_path / "manifests" / "train.tsv")
    assert [e.id for e in train] == expected["train"]
    wavs = (standin / "LJSpeech-1.1" / "wavs").resolve()
    assert [Path(e.audio) for e in train] == [wavs / f"{u}.wav" for u in expected["train"]]


def test_ljspeech_recipe_finds_it_and_downloads_nothing(standin: Path, tmp_path: Path) -> None:
    # egs/ljspeech/run.sh passes --download true: a download attempt would meet a dead proxy
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead, "HTTPS_PROXY": dead}
    result = subprocess.run(
        ["bash", str(REPO / "egs" / "ljspeech" / "run.sh"), "--data_dir", str(standin),
         "--dump_dir", str(tmp_path / "dump"), "--exp_dir", str(tmp_path / "exp"),
         "--python", sys.executable, "--stop_stage", "1"],
        check=False, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (standin / "manifests" / "train.tsv").is_file()
    assert not list(standin.glob("*.tar.bz2*"))


@needs_festival
def test_a_real_ljspeech_is_never_written_into(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "LJSpeech-1.1"
    corpus.mkdir()
    (corpus / "metadata.csv").write_text("LJ001-0001|Printing|Printing\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--limit", "1"])
    assert exit_info.value.code == 2
    assert "did not write (a real LJSpeech?)" in capsys.readouterr().err
    assert not (corpus / "wavs").exists()


def test_missing_festival_names_the_packages(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no festival on PATH
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "out"), "--limit", "1"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    assert "festival not found" in error and "apt-get install festival festvox-us-slt-hts" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [["--limit", "-1"], ["--jobs", "0"]])
def test_bad_counts_are_refused(tmp_path: Path, option: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), *option])
    assert exit_info.value.code == 2 and option[0] in capsys.readouterr().err

import dataclasses
import shutil
import subprocess

import numpy as np
import pytest
import pyworld
import soundfile as sf

from data_prep import mini
from data_prep.manifests import read_manifest, standard_split
from data_prep.mini import MAX_CHARS, build_mini_corpus, choose_ids
from data_prep.voices import VOICES, festival
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
needs_festival = pytest.mark.skipif(
    shutil.which("festival") is None or not festival.SLT.file.is_file(),
    reason="needs festival and festvox-us-slt-hts",
)


def check_layout_and_resume(out, voice, spy_on_voice, n=(3, 1, 1)) -> list[np.ndarray]:
    """Shared checks of both voices (`spy_on_voice`: the conftest fixture); returns the clips."""
    report = build_mini_corpus(out, *n, seed=1, voice=voice)
    assert report.counts == dict(zip(("train", "val", "test"), n))
    rows = [line.split("|") for line in (out / "metadata.csv").read_text().splitlines()]
    assert len(rows) == sum(n) and all(
        len(r) == 3 and r[1] == r[2] and len(r[1]) <= MAX_CHARS for r in rows
    )
    split = standard_split()
    for name in ("train", "val", "test"):
        entries = read_manifest(out / "manifests" / f"{name}.tsv")
        assert all(e.id in split[name] for e in entries)
    clips = []
    for row in rows:
        info = sf.info(out / "wavs" / f"{row[0]}.wav")
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert 0.5 < info.duration < 6.0
        clips.append(sf.read(out / "wavs" / f"{row[0]}.wav")[0])

    first = {p.name: p.stat().st_mtime_ns for p in (out / "wavs").iterdir()}
    deleted, truncated = (out / "wavs" / f"{row[0]}.wav" for row in rows[:2])
    deleted.unlink()
    truncated.write_bytes(b"truncated")  # an invalid wav is redone, valid ones are kept
    spoken = spy_on_voice(voice)
    build_mini_corpus(out, *n, seed=1, voice=voice)
    assert sorted(spoken) == sorted([deleted.name, truncated.name])
    second = {p.name: p.stat().st_mtime_ns for p in (out / "wavs").iterdir()}
    assert second.keys() == first.keys()  # no stray temporary files
    assert sorted(n for n in first if first[n] != second[n]) == sorted(spoken)
    assert (out / "voice.txt").read_text().strip() == voice
    return clips


@needs_festival
def test_hts_slt_corpus_is_female_22k_and_resumable(tmp_path, spy_on_voice):
    clips = check_layout_and_resume(tmp_path / "mini", "hts-slt", spy_on_voice, n=(6, 2, 2))
    f0 = np.concatenate([pyworld.dio(clip, 22050)[0] for clip in clips])
    assert 140 < np.median(f0[f0 > 0]) < 230  # slt: about 170 Hz


@needs_espeak
def test_espeak_corpus_layout_and_resume(tmp_path, spy_on_voice):
    check_layout_and_resume(tmp_path / "mini", "espeak", spy_on_voice)


@needs_festival
def test_quotes_and_backslashes_reach_festival_intact():
    text = 'He said "stop," then \\ "go\\" and left.'
    script = f'(format t "%s\\n" {festival.scheme_string(text)})\n'
    result = subprocess.run(
        ["festival", "--pipe"], input=script, capture_output=True, check=True, text=True, timeout=60
    )
    assert result.stdout.splitlines() == [text]


@needs_festival
def test_festival_speaks_quoted_and_accented_sentences(tmp_path):
    jobs = [
        ('He cried, "Accordez moi cette grâce," and left \\ "quietly.', tmp_path / "a.wav"),
        ("A second sentence after it.", tmp_path / "b.wav"),
    ]
    assert list(festival.speak_many(jobs, workers=1)) == [path for _, path in jobs]
    durations = [sf.info(path).duration for _, path in jobs]
    assert durations[0] > 2.0 and 0.8 < durations[1] < durations[0]
    assert festival.festival_text("bric-à-brac,\n habitué") == "bric-a-brac, habitue"


@needs_festival
def test_festival_never_falls_back_to_another_voice(monkeypatch):
    with pytest.raises(RuntimeError, match="did not load no_such_voice.*unbound variable"):
        festival.FestivalProcess(dataclasses.replace(festival.SLT, name="no_such_voice"))


def test_missing_festival_is_one_line_naming_the_packages(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no festival on PATH
    code = main(["prepare", "mini", "--out", str(tmp_path / "mini"), "--voice", "hts-slt"])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1
    assert "festival not found" in error and "apt-get install festival festvox-us-slt-hts" in error


@needs_festival
def test_missing_festival_voice_names_the_package(tmp_path):
    absent = dataclasses.replace(festival.SLT, file=tmp_path / "absent.htsvoice")
    with pytest.raises(UserInputError, match="cmu_us_slt_arctic_hts.*festvox-us-slt-hts"):
        festival.require(absent)


@pytest.mark.skipif(not festival.ONA.file.is_file(), reason="needs festvox-ca-ona-hts")
def test_catalan_voice_keeps_accents_in_latin_1(tmp_path):
    assert festival.festival_text("cafè  i\nplàtan ☺") == "cafe i platan"
    assert festival.festival_text("cafè  i\nplàtan ☺", "latin-1") == "cafè i plàtan"
    (wav,) = festival.speak_many([("Bon dia, cafè.", tmp_path / "a.wav")], 1, festival.ONA)
    assert sf.info(wav).samplerate == 16000 and sf.info(wav).duration > 0.5


def test_missing_espeak_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserInputError, match="apt-get install espeak-ng"):
        build_mini_corpus(tmp_path, 1, 1, 1, voice="espeak")


def test_a_corpus_never_mixes_voices(tmp_path, monkeypatch):
    monkeypatch.setitem(
        VOICES, "hts-slt", dataclasses.replace(VOICES["hts-slt"], require=lambda: None)
    )
    (tmp_path / "wavs").mkdir()
    (tmp_path / "wavs" / "LJ001-0001.wav").write_bytes(b"")  # written before voice.txt existed
    with pytest.raises(UserInputError, match="'espeak', not 'hts-slt'"):
        build_mini_corpus(tmp_path, 1, 1, 1, voice="hts-slt")
    (tmp_path / mini.VOICE_FILE).write_text("hts-slt\n")
    monkeypatch.setitem(
        VOICES, "espeak", dataclasses.replace(VOICES["espeak"], require=lambda: None)
    )
    with pytest.raises(UserInputError, match="'hts-slt', not 'espeak'"):
        build_mini_corpus(tmp_path, 1, 1, 1, voice="espeak")


def test_unknown_voice_lists_the_voices(tmp_path):
    with pytest.raises(UserInputError, match="hts-slt, espeak"):
        build_mini_corpus(tmp_path, 1, 1, 1, voice="festival")


def test_choose_ids_is_seeded_and_bounded():
    n = {"train": 4, "val": 2, "test": 2}
    assert choose_ids(n, 3) == choose_ids(n, 3)
    assert choose_ids(n, 3) != choose_ids(n, 4)
    with pytest.raises(UserInputError, match="n-val.*--max-chars"):
        choose_ids({"train": 1, "val": 21, "test": 1}, 0)
    longer = choose_ids({"train": 1, "val": 21, "test": 1}, 0, max_chars=100)
    assert len(longer["val"]) == 21 and set(longer["val"]) <= set(standard_split()["val"])

import shutil

import pytest
import soundfile as sf

from data_prep.manifests import read_manifest, standard_split
from data_prep.mini import MAX_CHARS, build_mini_corpus, choose_ids
from tts_ebm.errors import UserInputError

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_mini_corpus_layout_and_idempotent_rerun(tmp_path):
    out = tmp_path / "mini"
    report = build_mini_corpus(out, n_train=3, n_val=1, n_test=1, seed=1)
    assert report.counts == {"train": 3, "val": 1, "test": 1}
    rows = [line.split("|") for line in (out / "metadata.csv").read_text().splitlines()]
    assert len(rows) == 5 and all(
        len(r) == 3 and r[1] == r[2] and len(r[1]) <= MAX_CHARS for r in rows
    )
    split = standard_split()
    for name in ("train", "val", "test"):
        entries = read_manifest(out / "manifests" / f"{name}.tsv")
        assert all(e.id in split[name] for e in entries)
    for row in rows:
        info = sf.info(out / "wavs" / f"{row[0]}.wav")
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert 0.5 < info.duration < 6.0

    first = {p.name: p.stat().st_mtime_ns for p in (out / "wavs").iterdir()}
    victim = out / "wavs" / f"{rows[0][0]}.wav"
    victim.write_bytes(b"truncated")  # an invalid wav is redone, valid ones are kept
    build_mini_corpus(out, n_train=3, n_val=1, n_test=1, seed=1)
    second = {p.name: p.stat().st_mtime_ns for p in (out / "wavs").iterdir()}
    assert second.keys() == first.keys()  # no stray temporary files
    assert [n for n in first if first[n] != second[n]] == [victim.name]
    assert sf.info(victim).frames > 0


def test_choose_ids_is_seeded_and_bounded():
    assert choose_ids({"train": 4, "val": 2, "test": 2}, 3) == choose_ids(
        {"train": 4, "val": 2, "test": 2}, 3
    )
    assert choose_ids({"train": 4, "val": 2, "test": 2}, 3) != choose_ids(
        {"train": 4, "val": 2, "test": 2}, 4
    )
    with pytest.raises(UserInputError, match="n-val"):
        choose_ids({"train": 1, "val": 10_000, "test": 1}, 0)


def test_missing_espeak_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UserInputError, match="apt-get install espeak-ng"):
        build_mini_corpus(tmp_path, 1, 1, 1)

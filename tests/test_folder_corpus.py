"""The `folder` corpus (own recordings in LJSpeech layout) and `tts-ebm check-data` on a folder
with one planted fault of each kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.check import check_corpus
from data_prep.corpora import read_language
from data_prep.manifests import read_manifest
from tts_ebm.cli import main

RATE = 16000


def _speech(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * 180 * t) + 0.02 * noise).astype(np.float32)


def _folder(root: Path, n: int = 12) -> Path:
    (root / "wavs").mkdir(parents=True)
    lines = []
    for i in range(n):
        utt = f"utt{i:02d}"
        sf.write(root / "wavs" / f"{utt}.wav", _speech(1.0 + 0.1 * i, seed=i), RATE)
        lines.append(f"{utt}|Sentence number {i} is here.")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def test_folder_split_is_seeded_kept_and_checked(tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "voice")
    args = ["prepare", "folder", "--data-dir", str(root), "--n-val", "2", "--n-test", "3"]
    assert main([*args, "--language", "en-gb"]) == 0
    manifests = root / "manifests"
    names = ("train", "val", "test")
    split = {s: [e.id for e in read_manifest(manifests / f"{s}.tsv")] for s in names}
    assert [len(split[s]) for s in names] == [7, 2, 3]
    assert sorted(u for s in names for u in split[s]) == [f"utt{i:02d}" for i in range(12)]
    assert read_language(manifests) == "en-gb"
    # a new recording does not move the kept split; other sizes are refused, not redrawn
    sf.write(root / "wavs" / "utt12.wav", _speech(1.0), RATE)
    with (root / "metadata.csv").open("a") as f:
        f.write("utt12|One more sentence.\n")
    assert main(args) == 0
    assert json.loads((manifests / "split.json").read_text())["test"] == split["test"]
    assert "in no split" in capsys.readouterr().err
    assert main(["prepare", "folder", "--data-dir", str(root), "--n-test", "4"]) == 2
    assert "delete" in capsys.readouterr().err


def test_recipe_dirs_of_folder_corpus(tmp_path: Path, capsys) -> None:
    assert main(["prepare", "folder", "--data-dir", str(tmp_path), "--print-dirs"]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path}\t{tmp_path / 'manifests'}"


def test_check_data_names_every_planted_fault(tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "voice", n=10)
    wavs = root / "wavs"
    lines = (root / "metadata.csv").read_text().splitlines()
    (wavs / "utt00.wav").unlink()  # missing
    (wavs / "utt01.wav").write_bytes(b"RIFF not really a wav")  # unreadable
    lines[2] = "utt02|"  # empty text
    sf.write(wavs / "utt03.wav", np.zeros(RATE, np.float32), RATE)  # silent
    clipped = np.clip(_speech(1.0) * 10, -1, 1)
    sf.write(wavs / "utt04.wav", clipped, RATE)  # clipped
    sf.write(wavs / "utt05.wav", _speech(40.0), RATE)  # far longer than the rest
    lines[6] = "utt06|?! ..."  # no phonemes
    sf.write(wavs / "utt07.wav", _speech(1.0, rate=44100), 44100)  # another sample rate
    sf.write(wavs / "stray.wav", _speech(1.0), RATE)  # not in metadata.csv
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")

    report = check_corpus(root, progress=False)
    faults = {(f.id, f.problem.split(" ")[0]) for f in report.faults}
    assert faults == {
        ("utt00", "missing"),
        ("utt01", "unreadable"),
        ("utt02", "empty"),
        ("utt03", "silent"),
        ("utt06", "text"),
    }
    warnings = {(f.id, f.problem.split(" ")[0].rstrip(":")) for f in report.warnings}
    assert warnings == {
        ("utt04", "clipped"),
        ("utt05", "long"),
        ("utt07", "sample"),
        ("stray", "wav"),
    }
    assert main(["check-data", str(root), "--no-progress", "--report", str(tmp_path / "r.txt")]) == 1
    out = capsys.readouterr().out
    assert "10 utterances; 5 cannot be trained on" in out and "utt06" in out
    assert (tmp_path / "r.txt").read_text().strip() == out.strip()


def test_check_data_passes_a_clean_corpus_with_status_zero(tmp_path: Path) -> None:
    root = _folder(tmp_path / "voice", n=4)
    assert main(["check-data", str(root), "--no-progress"]) == 0


@pytest.mark.parametrize("text", ["Bon dia, com estàs?"])
def test_other_language_keeps_its_letters_and_phonemes(text: str) -> None:
    from tts_ebm.text import SymbolTable, normalize_for, phonemize, text_to_ids

    assert normalize_for(text, "ca") == "bon dia, com estàs?"
    phonemes = phonemize([normalize_for(text, "ca")], "ca")[0]
    table = SymbolTable.from_phonemes([phonemes])
    assert table.decode(text_to_ids(text, table, "ca")) == phonemes


def test_features_take_the_corpus_language_and_its_symbols(tmp_path: Path) -> None:
    from data_prep.extract import prepare_features

    root = tmp_path / "veu"
    (root / "wavs").mkdir(parents=True)
    texts = ["Bon dia a tothom.", "La plaça és plena de gent.", "Plou des de fa tres dies."]
    lines = []
    for i, text in enumerate(texts * 2):
        sf.write(root / "wavs" / f"c{i}.wav", _speech(1.0, rate=22050, seed=i), 22050)
        lines.append(f"c{i}|{text}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    args = ["prepare", "folder", "--data-dir", str(root), "--language", "ca"]
    assert main([*args, "--n-val", "1", "--n-test", "1"]) == 0
    prepare_features(root / "manifests", tmp_path / "dump", workers=1)
    symbols = json.loads((tmp_path / "dump" / "symbols.json").read_text())
    phonemes = (tmp_path / "dump" / "train.tsv").read_text()
    assert symbols["language"] == "ca" and "ʎ" not in symbols["symbols"]
    assert {"ɐ", "ˈ"} <= set(symbols["symbols"]) and "ɐ" in phonemes  # Catalan, not English

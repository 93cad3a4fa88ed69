import argparse
import json

import numpy as np
import pytest

from data_prep.audio import load_audio
from data_prep.extract import prepare_features
from data_prep.features import mel_spectrogram
from data_prep.manifests import ManifestEntry, read_tsv, write_manifest
from tts_ebm.commands import prepare as prepare_command
from tts_ebm.errors import UserInputError


@pytest.fixture
def manifests(tmp_path, make_wav):
    """Manifests mixing good wavs with corrupt, empty, silent, 16 kHz and unspeakable inputs."""
    corrupt = tmp_path / "wavs" / "corrupt.wav"
    corrupt.parent.mkdir(parents=True, exist_ok=True)
    corrupt.write_bytes(b"RIFF" + b"\x00" * 40)
    entries = {
        "train": [
            ManifestEntry("a", str(make_wav("wavs/a.wav", seconds=0.5, freq=200)), "Hello there."),
            ManifestEntry(
                "b", str(make_wav("wavs/b.wav", seconds=0.3, freq=400)), "Dr. Smith paid $5."
            ),
            ManifestEntry(
                "lowrate", str(make_wav("wavs/lowrate.wav", sample_rate=16000)), "Low rate."
            ),
            ManifestEntry("corrupt", str(corrupt), "Broken file."),
            ManifestEntry("mute", str(make_wav("wavs/mute.wav", amplitude=0.0)), "Silence."),
            ManifestEntry("noword", str(make_wav("wavs/noword.wav")), "?! ..."),
        ],
        "val": [ManifestEntry("v", str(make_wav("wavs/v.wav", seconds=0.2)), "A word.")],
        "test": [ManifestEntry("empty", str(make_wav("wavs/empty.wav", seconds=0.0)), "Nothing.")],
    }
    for split, rows in entries.items():
        write_manifest(tmp_path / "manifests" / f"{split}.tsv", rows)
    return tmp_path / "manifests"


def test_features_outputs_stats_and_skips(manifests, tmp_path):
    dump = tmp_path / "dump"
    summary = prepare_features(manifests, dump, workers=1)
    assert summary.counts == {"train": 3, "val": 1, "test": 0}
    reasons = {row["id"]: row["reason"] for row in read_tsv(dump / "skipped.tsv", ("id", "reason"))}
    assert reasons.keys() == {"corrupt", "mute", "noword", "empty"}
    assert "cannot decode" in reasons["corrupt"] and "corrupt.wav" in reasons["corrupt"]
    assert "silent" in reasons["mute"] and "empty" in reasons["empty"]
    assert reasons["noword"] == "text yields no phonemes"
    assert "4 skipped" in str(summary) and "1 resampled" in str(summary)

    train = read_tsv(dump / "train.tsv", ("id", "n_frames", "phonemes", "text"))
    assert [r["id"] for r in train] == ["a", "b", "lowrate"]
    assert [int(r["n_frames"]) for r in train] == [11025 // 256, 6615 // 256, 11025 // 256]
    assert (
        train[1]["phonemes"].startswith("dˈɑːktɚ smˈɪθ")
        and train[1]["text"] == "Dr. Smith paid $5."
    )
    mels = [np.load(dump / "mels" / f"{r['id']}.npy") for r in train]
    assert all(
        m.dtype == np.float32 and m.shape == (80, int(r["n_frames"])) for m, r in zip(mels, train)
    )
    assert np.allclose(mels[0], mel_spectrogram(load_audio(tmp_path / "wavs" / "a.wav")))

    stats = json.loads((dump / "stats.json").read_text())
    frames = np.concatenate(mels, axis=1).astype(np.float64)
    assert stats["n_frames"] == frames.shape[1]
    assert np.allclose(stats["mean"], frames.mean(axis=1), atol=1e-6)
    assert np.allclose(stats["std"], frames.std(axis=1), atol=1e-5)


def test_rerun_reuses_and_resumes(manifests, tmp_path):
    dump = tmp_path / "dump"
    prepare_features(manifests, dump, workers=1)
    stats = (dump / "stats.json").read_text()
    kept = (dump / "mels" / "a.npy").stat().st_mtime_ns
    (dump / "mels" / "b.npy").unlink()  # as if killed before b was written
    (dump / "mels" / "v.npy").write_bytes(b"half a file")  # a torn write from an old version
    summary = prepare_features(manifests, dump, workers=2)
    assert summary.cached == 2 and summary.counts == {"train": 3, "val": 1, "test": 0}
    assert (dump / "mels" / "a.npy").stat().st_mtime_ns == kept
    assert np.load(dump / "mels" / "v.npy").shape[0] == 80
    assert (dump / "stats.json").read_text() == stats
    assert sorted(p.name for p in (dump / "mels").iterdir()) == [
        "a.npy",
        "b.npy",
        "lowrate.npy",
        "v.npy",
    ]


def test_no_usable_train_data_is_an_error(tmp_path, make_wav):
    write_manifest(
        tmp_path / "m" / "train.tsv",
        [ManifestEntry("mute", str(make_wav("mute.wav", amplitude=0.0)), "Hi.")],
    )
    with pytest.raises(UserInputError, match="no train utterance"):
        prepare_features(tmp_path / "m", tmp_path / "dump", workers=1)
    with pytest.raises(FileNotFoundError, match="train.tsv"):
        prepare_features(tmp_path / "nowhere", tmp_path / "dump", workers=1)


def test_prepare_features_command(manifests, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    prepare_command.add_arguments(parser)
    args = parser.parse_args(
        [
            "features",
            "--manifest-dir",
            str(manifests),
            "--out",
            str(tmp_path / "d"),
            "--workers",
            "1",
        ]
    )
    assert prepare_command.run(args) == 0
    assert "features: train 3, val 1, test 0" in capsys.readouterr().out


def test_f0_tracks_beside_the_mels_and_added_to_an_old_dump(manifests, tmp_path):
    """Every extracted utterance gets DUMP/pitch/<id>.npy: F0 in Hz per mel frame (the 200 Hz
    and 400 Hz tones of the fixture are found); a dump written before pitch existed gets its
    F0 tracks on a rerun without recomputing its mels."""
    dump = tmp_path / "dump"
    prepare_features(manifests, dump, workers=1)
    for utt, freq in (("a", 200.0), ("b", 400.0)):
        f0 = np.load(dump / "pitch" / f"{utt}.npy")
        assert f0.dtype == np.float32
        assert f0.shape == (np.load(dump / "mels" / f"{utt}.npy").shape[1],)
        voiced = f0[f0 > 0]
        assert len(voiced) > 0.5 * len(f0)
        assert np.median(voiced) == pytest.approx(freq, rel=0.03)
    kept = (dump / "mels" / "a.npy").stat().st_mtime_ns
    for path in (dump / "pitch").iterdir():
        path.unlink()
    summary = prepare_features(manifests, dump, workers=1)
    assert (dump / "pitch" / "a.npy").is_file()
    assert (dump / "mels" / "a.npy").stat().st_mtime_ns == kept
    assert summary.cached == 0  # nothing was complete: every F0 track was missing

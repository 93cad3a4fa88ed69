import hashlib
import http.server
import tarfile
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from data_prep.ljspeech import download, extract, parse_metadata, prepare, write_manifests
from data_prep.manifests import read_manifest, standard_split
from tts_ebm.errors import UserInputError

QUOTED = '"Stop now, he said'  # leading unbalanced quote: csv quoting would merge lines


def fake_ljspeech(root: Path, make_wav) -> dict[str, list[str]]:
    """LJSpeech-1.1 tree with the first 3/2/2 ids of each standard split (one wav missing)."""
    split = {
        name: ids[: {"train": 3, "val": 2, "test": 2}[name]]
        for name, ids in standard_split().items()
    }
    lines = []
    for ids in split.values():
        for utt in ids:
            lines.append(f"{utt}|{QUOTED}|{QUOTED} {utt}")
            make_wav(f"{root.name}/LJSpeech-1.1/wavs/{utt}.wav", seconds=0.1)
    (root / "LJSpeech-1.1" / "metadata.csv").write_text("\n".join(lines) + "\n")
    (root / "LJSpeech-1.1" / "wavs" / f"{split['test'][1]}.wav").unlink()
    return split


def test_parse_metadata_disables_quoting(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text(f"A-1|{QUOTED}|{QUOTED}\nA-2|plain|plain  text\n")
    assert parse_metadata(path) == {"A-1": QUOTED, "A-2": "plain text"}
    path.write_text("A-1|only two\n")
    with pytest.raises(UserInputError, match="metadata.csv:1"):
        parse_metadata(path)


def test_manifests_for_standard_split(tmp_path, make_wav, capsys):
    split = fake_ljspeech(tmp_path / "lj", make_wav)
    report = prepare(tmp_path / "lj", tmp_path / "manifests")  # the full standard split
    assert report.counts == {"train": 3, "val": 2, "test": 1}
    assert {k: len(v) for k, v in report.missing.items()} == {
        "train": 12497,
        "val": 98,
        "test": 499,
    }
    assert split["test"][1] in report.missing["test"]
    assert "499 test ids missing" in capsys.readouterr().err
    header = (tmp_path / "manifests" / "train.tsv").read_text().splitlines()[0]
    assert header == "id\taudio\ttext"
    train = read_manifest(tmp_path / "manifests" / "train.tsv")
    assert [e.id for e in train] == split["train"]
    assert Path(train[0].audio).is_absolute() and Path(train[0].audio).is_file()
    assert train[0].text == f"{QUOTED} {split['train'][0]}"
    assert [e.id for e in read_manifest(tmp_path / "manifests" / "test.tsv")] == split["test"][:1]


def test_manifests_for_given_ids_report_missing(tmp_path, make_wav):
    split = fake_ljspeech(tmp_path / "lj", make_wav)
    split["val"].append("LJ999-9999")
    report = write_manifests(tmp_path / "lj" / "LJSpeech-1.1", tmp_path / "m", split)
    assert report.counts == {"train": 3, "val": 2, "test": 1}
    assert report.missing == {"train": [], "val": ["LJ999-9999"], "test": [split["test"][1]]}
    assert str(report) == "manifests: train 3, val 2, test 1 (2 listed ids missing)"


def test_missing_corpus_says_how_to_get_it(tmp_path):
    with pytest.raises(UserInputError, match="--download.*https://data.keithito.com"):
        prepare(tmp_path, tmp_path / "manifests")


def test_extract_archive_is_idempotent(tmp_path, make_wav):
    fake_ljspeech(tmp_path / "src", make_wav)
    archive = tmp_path / "LJSpeech-1.1.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        tar.add(tmp_path / "src" / "LJSpeech-1.1", arcname="LJSpeech-1.1")
    corpus = extract(archive, tmp_path / "root")
    assert (corpus / "metadata.csv").is_file() and len(list((corpus / "wavs").glob("*.wav"))) == 6
    archive.unlink()  # a second call must not need the archive
    assert extract(archive, tmp_path / "root") == corpus


def _payload(tmp_path: Path) -> tuple[Path, bytes, str]:
    data = bytes(range(256)) * 4000
    source = tmp_path / "served" / "corpus.tar.bz2"
    source.parent.mkdir()
    source.write_bytes(data)
    return source, data, hashlib.sha256(data).hexdigest()


def test_download_file_url_checks_sha256(tmp_path):
    source, data, digest = _payload(tmp_path)
    with pytest.raises(UserInputError, match="checksum mismatch"):
        download(tmp_path / "bad", source.as_uri(), "0" * 64)
    assert list((tmp_path / "bad").iterdir()) == []  # corrupt partial file removed
    target = download(tmp_path / "good", source.as_uri(), digest)
    assert target.name == "corpus.tar.bz2" and target.read_bytes() == data
    assert download(tmp_path / "good", source.as_uri(), digest) == target  # no second fetch


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files honouring 'Range: bytes=N-' and records the ranges asked for."""

    ranges: ClassVar[list[str | None]] = []

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        requested = self.headers.get("Range")
        type(self).ranges.append(requested)
        start = int(requested.split("=")[1].rstrip("-")) if requested else 0
        self.send_response(206 if requested else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args):
        pass


def test_download_resumes_partial_file_over_http(tmp_path):
    source, data, digest = _payload(tmp_path)
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(source.parent), **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = tmp_path / "dl"
        root.mkdir()
        (root / "corpus.tar.bz2.part").write_bytes(data[:300_000])
        url = f"http://127.0.0.1:{server.server_address[1]}/corpus.tar.bz2"
        target = download(root, url, digest)
    finally:
        server.shutdown()
    assert _RangeHandler.ranges == ["bytes=300000-"]
    assert target.read_bytes() == data and not (root / "corpus.tar.bz2.part").exists()

"""--checkpoint names a voice by path, shipped name or Hub spec (tts_ebm.voices), offline, on a
shipped folder and a Hub cache that the tests lay out themselves; `tts-ebm voices` lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tts_ebm import voices
from tts_ebm.cli import main
from tts_ebm.errors import UserInputError
from tts_ebm.training.checkpoint import load_for_inference

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_checkpoint) -> Path:
    """A package folder with one shipped voice, `slt-demo`, and its model card."""
    folder = tmp_path / "package_voices"
    tiny_checkpoint(folder / "slt-demo" / voices.CHECKPOINT_NAME)
    (folder / "slt-demo" / voices.MODEL_CARD).write_text(
        "\n# slt-demo: festival slt, delta, 700 steps\n\nmore text\n", encoding="utf-8")
    (folder / "__pycache__").mkdir()  # a folder that is no voice
    monkeypatch.setattr(voices, "SHIPPED_DIR", folder)
    return folder


def _cache_voice(cache: Path, repo_id: str, name: str, save) -> Path:
    """A Hub cache snapshot as huggingface_hub lays it out, refs/main pointing at it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    checkpoint = save(repo / "snapshots" / COMMIT / name)
    (repo / "snapshots" / COMMIT / voices.MODEL_CARD).write_text("# hub voice\n",
                                                                  encoding="utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return checkpoint


def test_a_path_a_shipped_name_and_a_cached_hub_spec_resolve(
        shipped: Path, offline_hub: Path, tmp_path: Path, tiny_checkpoint) -> None:
    own = tiny_checkpoint(tmp_path / "mine.ckpt")
    assert voices.resolve(own) == own
    assert voices.resolve("slt-demo") == shipped / "slt-demo" / voices.CHECKPOINT_NAME
    cached = _cache_voice(offline_hub, "someone/voices", "slt/voice.ckpt", tiny_checkpoint)
    assert voices.resolve("hf:someone/voices/slt/voice.ckpt").resolve() == cached.resolve()
    assert voices.resolve(f"hf:someone/voices/slt/voice.ckpt@{COMMIT}").resolve() == \
        cached.resolve()
    bundle = load_for_inference("hf:someone/voices/slt/voice.ckpt")  # the loader's one seam
    assert bundle.language == "en-us"


def test_what_cannot_be_resolved_says_what_was_tried(shipped: Path, offline_hub: Path) -> None:
    with pytest.raises(UserInputError, match=r"'slt-dmeo' is neither a file nor a shipped "
                                             r"voice \(slt-demo\); give a path"):
        voices.resolve("slt-dmeo")
    with pytest.raises(UserInputError, match=r"voice hf:someone/none/voice.ckpt is not in the "
                                             r"Hugging Face cache and the Hub .* cannot be reached"):
        voices.resolve("hf:someone/none/voice.ckpt")
    with pytest.raises(UserInputError, match="bad voice spec 'hf:only/two': expected"):
        voices.resolve("hf:only/two")


def test_voices_lists_shipped_then_cached_with_their_headlines(
        shipped: Path, offline_hub: Path, capsys: pytest.CaptureFixture[str],
        tiny_checkpoint) -> None:
    _cache_voice(offline_hub, "someone/voices", "slt/voice.ckpt", tiny_checkpoint)
    listed = voices.listed()
    assert [(v.spec, v.headline) for v in listed] == [
        ("slt-demo", "slt-demo: festival slt, delta, 700 steps"),
        (f"hf:someone/voices/slt/voice.ckpt@{COMMIT}", "hub voice"),
    ]
    assert main(["voices"]) == 0
    out = capsys.readouterr().out
    assert "slt-demo" in out and "hub voice" in out and "someone/voices" in out


def test_no_voices_says_how_to_get_one(tmp_path: Path, offline_hub: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(voices, "SHIPPED_DIR", tmp_path)
    assert main(["voices"]) == 0
    assert "no voices" in capsys.readouterr().out


def test_synthesize_takes_a_shipped_voice_by_name(shipped: Path, tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    assert main(["synthesize", "--checkpoint", "slt-demo", "--text", "Hello.", "--out", str(out),
                 "--vocoder", "griffin-lim", "--steps", "1"]) == 0
    assert out.stat().st_size > 1000

"""The shared weights-only loader names why a file cannot be loaded."""

from __future__ import annotations

import datetime
import re

import pytest
import torch

from tts_ebm.errors import UserInputError
from tts_ebm.weights_file import load_weights_only


def test_tensors_and_plain_values_load_on_the_cpu(tmp_path):
    torch.save({"w": torch.ones(2), "step": 3, "name": "x"}, tmp_path / "ok.pt")
    loaded = load_weights_only(tmp_path / "ok.pt", "checkpoint")
    assert loaded["step"] == 3 and torch.equal(loaded["w"], torch.ones(2))


@pytest.mark.parametrize("content", [b"step,loss\n1,0.5\n", bytes(range(256)) * 8,
                                     b"\x80\x02garbage", b""],
                         ids=["text", "binary", "pickle-like", "empty"])
def test_a_file_that_is_no_pytorch_file_is_named_so(tmp_path, content):
    """torch raises IndexError, KeyError, EOFError or a weights-only error on these."""
    path = tmp_path / "f.pt"
    path.write_bytes(content)
    expected = (f"{path} is not a PyTorch file (torch.save writes a zip archive; this file is "
                "not one): expected a vocoder checkpoint")
    with pytest.raises(UserInputError, match=f"^{re.escape(expected)}$"):
        load_weights_only(path, "vocoder checkpoint")


def test_python_objects_are_refused_with_their_type_and_the_hint(tmp_path, monkeypatch):
    path = tmp_path / "obj.pt"
    torch.save({"w": torch.ones(1), "when": datetime.date(2020, 1, 1)}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # an explicit weights_only holds
    expected = (f"refusing to load checkpoint {path}: it holds Python objects beyond tensors "
                "(datetime.date), and loading those could run arbitrary code. Hint.")
    with pytest.raises(UserInputError, match=f"^{re.escape(expected)}$"):
        load_weights_only(path, "checkpoint", hint=". Hint.")
    with pytest.raises(UserInputError, match="could run arbitrary code$"):  # no hint by default
        load_weights_only(path, "checkpoint")


def test_a_damaged_zip_or_a_missing_file_cannot_be_read(tmp_path):
    torch.save({"w": torch.ones(1000)}, tmp_path / "ok.pt")
    good = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: len(good) // 2])
    for path in (tmp_path / "cut.pt", tmp_path / "missing.pt"):
        with pytest.raises(UserInputError,
                           match=f"^cannot read checkpoint {re.escape(str(path))} \\(truncated or "
                                 "corrupt file\\?\\): .+"):
            load_weights_only(path, "checkpoint")

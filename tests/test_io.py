"""Atomic writes (tts_ebm.io): the file appears whole or not at all, with the umask's mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tts_ebm.io import atomic_path, atomic_write_text


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_the_umask_mode(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    finally:
        os.umask(previous)
    path = tmp_path / "sub" / "a.txt"
    assert path.read_text() == "hello"
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_temporary_keeps_the_suffix_and_is_unique(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "x.wav") as first, atomic_path(tmp_path / "x.wav") as second:
        assert first != second and first.suffix == second.suffix == ".wav"
        assert first.parent == tmp_path and first.name.startswith(".x.wav.")
        first.write_text("1")
        second.write_text("2")
    assert (tmp_path / "x.wav").read_text() == "1"  # the outer block finished last
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]

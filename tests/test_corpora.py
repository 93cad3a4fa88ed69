"""Every registered corpus plug-in meets the `Corpus` contract that `tts-ebm prepare` and
`recipes/tts.sh --corpus` rely on."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest

from data_prep.corpora import CORPORA, Corpus, get_corpus, names
from tts_ebm.errors import UserInputError

SHARED_OPTIONS = ("--data-dir", "--manifest-dir", "--workers", "--print-dirs")


@pytest.mark.parametrize("name", names())
def test_plugin_meets_the_contract(name: str, tmp_path: Path) -> None:
    corpus = get_corpus(name)
    assert isinstance(corpus, Corpus)
    assert isinstance(corpus.DESCRIPTION, str) and corpus.DESCRIPTION.strip()
    assert "\n" not in corpus.DESCRIPTION                       # one line for --help
    assert corpus.__doc__ and corpus.__doc__.strip()            # the subcommand's description
    assert len(inspect.signature(corpus.prepare).parameters) == 1

    parser = argparse.ArgumentParser()
    for option in SHARED_OPTIONS:                               # what prepare.py adds first
        parser.add_argument(option)
    corpus.add_arguments(parser)                                # must not redefine them
    defaults = parser.parse_args(["--data-dir", str(tmp_path)])
    assert defaults.data_dir == str(tmp_path)

    folder = corpus.corpus_dir(tmp_path)
    assert isinstance(folder, Path) and folder.is_relative_to(tmp_path)
    assert isinstance(corpus.manifest_dir(folder), Path)


def test_names_are_the_registry_and_a_wrong_one_lists_them() -> None:
    assert names() == list(CORPORA) and {"mini", "ljspeech", "folder"} <= set(names())
    with pytest.raises(UserInputError, match="choose one of: mini, ljspeech, folder"):
        get_corpus("ljspeach")


def test_a_module_missing_part_of_the_contract_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from data_prep.corpora import mini

    monkeypatch.delattr(mini, "manifest_dir")
    with pytest.raises(TypeError, match="Corpus protocol"):
        get_corpus("mini")

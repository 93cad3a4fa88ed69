"""The design docs name every registered plug-in: a name added to a registry without a line in
docs/DESIGN.md or docs/ARCHITECTURE.md fails here, naming what is missing and where it is
registered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DOCS = [Path(__file__).resolve().parents[1] / "docs" / name
        for name in ("DESIGN.md", "ARCHITECTURE.md")]


def _criteria() -> list[str]:
    from tts_ebm import criteria

    return criteria.names()


def _samplers() -> list[str]:
    from tts_ebm import samplers

    return samplers.names()


def _fields() -> list[str]:
    from tts_ebm import fields

    return fields.names()


def _energy_heads() -> list[str]:
    # the frame network itself has no registry (one U-Net, sized by ModelConfig's frame_*
    # keys); what a config chooses on top of it is the field and, for energies, the head
    from tts_ebm.networks.energy import ENERGY_HEADS

    return list(ENERGY_HEADS)


def _corpora() -> list[str]:
    from data_prep.corpora import names

    return names()


def _voices() -> list[str]:
    from data_prep.voices import VOICES

    return list(VOICES)


def _vocoders() -> list[str]:
    import vocoder

    return vocoder.names()


def _commands() -> list[str]:
    from tts_ebm.cli import COMMANDS

    return list(COMMANDS)


REGISTRIES: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "criterion": ("tts_ebm.criteria._REGISTRY", _criteria),
    "sampler": ("tts_ebm.samplers._REGISTRY", _samplers),
    "field": ("tts_ebm.fields._REGISTRY", _fields),
    "energy head": ("tts_ebm.networks.energy.ENERGY_HEADS", _energy_heads),
    "corpus": ("data_prep.corpora.CORPORA", _corpora),
    "voice": ("data_prep.voices.VOICES", _voices),
    "vocoder": ("vocoder.spec.PACKAGED and GRIFFIN_LIM", _vocoders),
    "CLI subcommand": ("tts_ebm.cli.COMMANDS", _commands),
}


@pytest.fixture(scope="module")
def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS)


def missing_names(names: list[str], text: str) -> list[str]:
    """The names that `text` never writes as `name` (in backticks)."""
    return [name for name in names if f"`{name}`" not in text]


def test_missing_names_sees_only_backticked_names() -> None:
    text = "the `gd` sampler; euler without backticks; `ve_euler_x`"
    assert missing_names(["gd", "euler", "ve_euler"], text) == ["euler", "ve_euler"]


@pytest.mark.parametrize("kind", list(REGISTRIES))
def test_docs_name_every_registered_plugin(kind: str, docs_text: str) -> None:
    where, registered = REGISTRIES[kind]
    names = registered()
    assert names, f"the {kind} registry {where} is empty"
    missing = missing_names(names, docs_text)
    assert not missing, (
        f"{kind} names registered in {where} but never written as `name` in "
        f"{' or '.join(f'docs/{p.name}' for p in DOCS)}: {', '.join(missing)}"
    )

import random
import warnings

import pytest

from data_prep.manifests import corpus_sentences
from tts_ebm.errors import UserInputError
from tts_ebm.text import (
    SymbolTable,
    normalize_text,
    phonemize,
    split_sentences,
    text_to_ids,
)
from tts_ebm.text.normalize import cardinal, ordinal, year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith paid $5.", "doctor smith paid five dollars."),
        ("Mr. and Mrs. Jones, St. Paul etc.", "mister and missus jones, saint paul et cetera"),
        (
            "In 1844 and 1905 and 2005 and 1900.",
            "in eighteen forty-four and nineteen oh five and two thousand five and nineteen hundred.",
        ),
        ("pi is 3.14", "pi is three point one four"),
        (
            "the 1st, 2nd, 3rd, 21st and 100th",
            "the first, second, third, twenty-first and one hundredth",
        ),
        (
            "$1.01 and £3.50 and $0.05",
            "one dollar, one cent and three pounds, fifty pence and five cents",
        ),
        ("£1, $1,000,000.", "one pound, one million dollars."),
        ("$2 million, 50%", "two million dollars, fifty percent"),
        ("Café “naïve” — résumé", 'cafe "naive" - resume'),
        ("  many\n  spaces\t", "many spaces"),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_number_words():
    assert cardinal(0) == "zero"
    assert cardinal(101) == "one hundred one"
    assert cardinal(999_999) == "nine hundred ninety-nine thousand nine hundred ninety-nine"
    assert (
        ordinal(12) == "twelfth"
        and ordinal(40) == "fortieth"
        and ordinal(1003) == "one thousand third"
    )
    assert year(2000) == "two thousand" and year(1066) == "ten sixty-six"


def test_phonemize_batch_matches_single_and_keeps_punctuation():
    texts = ["hello world.", "", "well, (maybe) yes?", "hello world."]
    out = phonemize(texts)
    assert out[0] == out[3] == "həlˈoʊ wˈɜːld."
    assert out[1] == ""
    assert out[2] == phonemize(["well, (maybe) yes?"])[0]
    assert out[2].startswith("wˈɛl, (") and out[2].endswith("?")


def test_symbol_table_covers_ljspeech_sample():
    sentences = corpus_sentences()
    sample = random.Random(0).sample(sorted(sentences.values()), 300)
    table = SymbolTable.default()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any unknown symbol would raise here
        for phonemes in phonemize([normalize_text(s) for s in sample]):
            assert table.decode(table.encode(phonemes)) == phonemes


def test_symbol_table_roundtrip_and_pad():
    table = SymbolTable.default()
    assert table.symbols[0] == "_" and table.pad_id == 0
    ids = table.encode("həlˈoʊ wˈɜːld.")
    assert 0 not in ids and len(ids) == len("həlˈoʊ wˈɜːld.")
    restored = SymbolTable.from_dict(table.to_dict())
    assert restored.symbols == table.symbols and restored.encode("həlˈoʊ") == table.encode("həlˈoʊ")
    with pytest.raises(ValueError):
        SymbolTable(["a", "_"])


def test_unknown_symbol_is_an_error_naming_it():
    table = SymbolTable.default()
    with pytest.raises(UserInputError, match="U\\+263A.*in text 'x'"):
        table.encode("a☺b", context="text 'x'")


def test_table_from_corpus_phonemes_holds_what_they_use():
    table = SymbolTable.from_phonemes(["əˈβa", "ʎ ə."])
    assert table.symbols[0] == "_" and {"ə", "ˈ", "β", "a", "ʎ", " ", "."} <= set(table.symbols)
    assert "ɹ" not in table.symbols
    assert table.decode(table.encode("ʎəˈβa.")) == "ʎəˈβa."


def test_text_to_ids():
    table = SymbolTable.default()
    ids = text_to_ids("Dr. Smith paid $5.", table)
    assert table.decode(ids) == phonemize(["doctor smith paid five dollars."])[0]
    with pytest.raises(UserInputError, match="empty"):
        text_to_ids("   ", table)
    with pytest.raises(UserInputError, match="no phonemes"):
        text_to_ids("?! ...", table)


def test_split_sentences_keeps_every_word():
    text = (
        "First sentence. Second one is here! A very long third sentence, with a clause, and "
        "another clause that goes on and on without any stop at all for quite a while? "
        + "x" * 50
        + " end"
    )
    chunks = split_sentences(text, max_chars=40)
    assert chunks[:2] == ["First sentence.", "Second one is here!"]
    assert " ".join(chunks).split() == text.split()
    assert all(len(c) <= 40 for c in chunks if " " in c)
    assert "x" * 50 in chunks  # a single over-long word is kept whole, not truncated
    assert split_sentences("Short. Text.") == ["Short.", "Text."]
    assert split_sentences("  ") == []

"""English text normalisation: spell out what espeak-ng would read badly or inconsistently.

Training text (LJSpeech's normalised column) and inference text go through the same function,
so that the phoneme sequences the model sees at training and at synthesis time agree.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

# Abbreviations are matched case-insensitively, with the full stop, at a word start.
_ABBREVIATIONS = {
    "mr": "mister",
    "mrs": "missus",
    "ms": "miss",
    "dr": "doctor",
    "st": "saint",
    "jr": "junior",
    "sr": "senior",
    "messrs": "messieurs",
    "prof": "professor",
    "capt": "captain",
    "col": "colonel",
    "gen": "general",
    "lt": "lieutenant",
    "maj": "major",
    "sgt": "sergeant",
    "rev": "reverend",
    "hon": "honourable",
    "gov": "governor",
    "ft": "fort",
    "mt": "mount",
    "co": "company",
    "ltd": "limited",
    "vs": "versus",
    "etc": "et cetera",
    "approx": "approximately",
}
_ABBREVIATION_RE = re.compile(
    r"\b(" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\.", re.IGNORECASE
)
_LATIN_RE = {
    re.compile(r"\be\.g\.", re.IGNORECASE): "for example",
    re.compile(r"\bi\.e\.", re.IGNORECASE): "that is",
}

# Typographic characters that NFKD does not reduce to ASCII.
_UNICODE_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2026": "...",
        "\u00a0": " ",
        "[": "(",
        "]": ")",
        "\u00bd": " and a half",
    }
)

_CURRENCY_RE = re.compile(r"([$£])\s?(\d+(?:,\d{3})*(?:\.\d+)?)(?:\s?(million|billion|trillion))?")
_ORDINAL_RE = re.compile(r"\b(\d+(?:,\d{3})*)(st|nd|rd|th)\b", re.IGNORECASE)
_PERCENT_RE = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s?%")
_DECIMAL_RE = re.compile(r"\b(\d+(?:,\d{3})*)\.(\d+)\b")
_NUMBER_RE = re.compile(r"\b\d+(?:,\d{3})*\b")


def cardinal(n: int) -> str:
    """Spell a non-negative integer: 1234 -> 'one thousand two hundred thirty-four'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for scale, name in _SCALES:
        if n >= scale:
            if n >= scale * 1000:
                break  # beyond the largest scale: read digit by digit
            head, rest = divmod(n, scale)
            return f"{cardinal(head)} {name}" + (f" {cardinal(rest)}" if rest else "")
    return " ".join(_ONES[int(d)] for d in str(n))


def ordinal(n: int) -> str:
    """Spell an ordinal: 21 -> 'twenty-first'."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """Spell a number between 1000 and 2999 the way years are read: 1844 -> 'eighteen forty-four'."""
    if n % 1000 == 0 or 2000 < n < 2010:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + cardinal(low) if low < 10 else cardinal(low)}"


def _number(match: re.Match[str]) -> str:
    text = match.group(0)
    n = int(text.replace(",", ""))
    if "," not in text and 1000 < n < 3000 and len(text) == 4:
        return year(n)
    return cardinal(n)


def _currency(match: re.Match[str]) -> str:
    symbol, amount, scale = match.groups()
    unit, subunit = ("dollar", "cent") if symbol == "$" else ("pound", "penny")
    whole, _, frac = amount.replace(",", "").partition(".")
    if scale:
        return f"{cardinal(int(whole))}{' point ' + _digits(frac) if frac else ''} {scale} {unit}s"
    units, cents = int(whole), int((frac + "00")[:2]) if frac else 0
    parts = []
    if units or not cents:
        parts.append(f"{cardinal(units)} {unit}{'' if units == 1 else 's'}")
    if cents:
        plural = "pence" if subunit == "penny" else "cents"
        parts.append(f"{cardinal(cents)} {subunit if cents == 1 else plural}")
    return ", ".join(parts)


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _decimal(match: re.Match[str]) -> str:
    whole, frac = match.groups()
    return f"{cardinal(int(whole.replace(',', '')))} point {_digits(frac)}"


def to_ascii(text: str) -> str:
    """Map typographic punctuation and accented letters to plain ASCII; drop the rest."""
    text = unicodedata.normalize("NFKD", text.translate(_UNICODE_MAP))
    return text.encode("ascii", "ignore").decode("ascii")


def normalize_text(text: str) -> str:
    """Normalise English text for phonemisation: 'Dr. Smith paid $5.' -> 'doctor smith paid five dollars.'"""
    text = _CURRENCY_RE.sub(_currency, text)  # before to_ascii, which would drop the pound sign
    text = to_ascii(text)
    for pattern, replacement in _LATIN_RE.items():
        text = pattern.sub(replacement, text)
    text = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    text = _PERCENT_RE.sub(lambda m: f"{m.group(1)} percent", text)
    text = _ORDINAL_RE.sub(lambda m: ordinal(int(m.group(1).replace(",", ""))), text)
    text = _DECIMAL_RE.sub(_decimal, text)
    text = _NUMBER_RE.sub(_number, text)
    text = text.replace("&", " and ")
    return re.sub(r"\s+", " ", text).strip().lower()

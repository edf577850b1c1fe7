"""Each technique: names it must catch (with the right target and technique), names it
must not, and the one-line explanation."""

from __future__ import annotations

import pytest

from detectors.typosquat.keyboard import adjacent, bit_flip, look_alike
from detectors.typosquat.techniques import Technique, classify_edit, classify_two
from detectors.typosquat.verdict import Analyzer

HITS = [
    # (candidate, target, technique)
    ("reqests", "requests", "omission"),
    ("urllib", "urllib3", "omission"),
    ("requestss", "requests", "repetition"),
    ("idnna", "idna", "repetition"),
    ("reqeusts", "requests", "transposition"),
    ("dajngo", "django", "transposition"),
    ("requezts", "requests", "adjacent-key"),
    ("diango", "django", "adjacent-key"),
    ("kombuxha", "kombucha", "adjacent-key"),
    ("requestsa", "requests", "neighbour-insertion"),
    ("kombuchaq", "kombucha", "neighbour-insertion"),
    ("jeIlyfish", "jellyfish", "homoglyph"),
    ("rnatplotlib", "matplotlib", "homoglyph"),
    ("reque5ts", "requests", "homoglyph"),
    ("loquru", "loguru", "homoglyph"),
    ("colozama", "colorama", "bit-flip"),
    ("pythondateutil", "python-dateutil", "separator"),
    ("setup-tools", "setuptools", "separator"),
    ("python-date-util", "python-dateutil", "separator"),
    ("dateutil-python", "python-dateutil", "word-reorder"),
    ("cffi-curl", "curl-cffi", "word-reorder"),
    ("python-flask", "flask", "affix"),
    ("pyrequests", "requests", "affix"),
    ("requests-py", "requests", "affix"),
    ("colorama2", "colorama", "affix"),
    ("pydantics", "pydantic", "plural"),
    ("requests-dev", "requests", "affix"),
    ("python3-dateutil", "python-dateutil", "affix"),
    ("requests-v2", "requests", "version-suffix"),
    ("numpy-1-26", "numpy", "version-suffix"),
    ("requests-lite", "requests", "combosquat"),
    ("loguru-utf8", "loguru", "combosquat"),
    ("jsonschemavalidation", "jsonschema", "combosquat"),
    ("pycryptoenv", "pycrypto", "combosquat"),
    ("rich-util", "rich", "combosquat"),
    ("colourama", "colorama", "vowel-change"),
    ("telegrem", "telegram", "vowel-change"),
    ("reqest", "requests", "two-typos"),
    ("reqeuts", "requests", "two-typos"),
    ("colorona", "colorama", "two-typos"),
    ("requeszs", "requests", "substitution"),
    ("reqests-2", "requests", "omission+affix"),
    ("log-guru", "loguru", "repetition+separator"),
]


@pytest.mark.parametrize(("candidate", "target", "technique"), HITS)
def test_technique_hits(analyzer: Analyzer, candidate: str, target: str, technique: str) -> None:
    verdict = analyzer.check(candidate)
    assert verdict.flagged, verdict
    assert (verdict.target, verdict.technique) == (target, technique)
    assert verdict.explanation is not None and verdict.explanation.startswith(f"`{candidate}` ")


def test_a_bit_flip_counts_on_the_top_names_only(analyzer: Analyzer) -> None:
    verdict = analyzer.check("kombucxa")  # kombucha is rank 9000
    assert not verdict.flagged


def test_two_popular_names_joined(analyzer: Analyzer) -> None:
    verdict = analyzer.check("matplotlib-requests")
    assert verdict.flagged and verdict.technique == "combosquat"
    assert verdict.target == "requests"  # the more popular of the two
    assert verdict.explanation == (
        "`matplotlib-requests` joins the protected `matplotlib` and `requests`")


NON_HITS = [
    "kombupha",  # generic substitution on an obscure name
    "kombuchap",  # generic insertion on an obscure name
    "kombucza",  # two-bit change, obscure
    "kmbuca",  # two slips, but an obscure target
    "tmib",  # one weak slip on a short, obscure name
    "sixx",  # three-letter target: too short for any slip
    "i-dna",  # separator change on a four-letter name
    "nvidia-cu112",  # another CUDA version, not an added `2`
    "numpy5",  # bare digits other than 2/3 are no version suffix
    "kombucha-lite",  # generic word with an obscure name
    "requests-utils",  # `utils` is what legitimate extensions are called
    "flask-sqlalchemy",  # flask + a name that is not protected here
    "totally-unrelated",
    "requests",  # protected itself
]


@pytest.mark.parametrize("candidate", NON_HITS)
def test_technique_non_hits(analyzer: Analyzer, candidate: str) -> None:
    assert not analyzer.check(candidate).flagged


@pytest.mark.parametrize(("candidate", "explanation"), [
    ("reqeusts", "`reqeusts` is `requests` with `ue` transposed"),
    ("reqests", "`reqests` is `requests` with `u` omitted"),
    ("requestss", "`requestss` is `requests` with `s` repeated"),
    ("jeIlyfish", "`jeIlyfish` is `jellyfish` with `l` replaced by the look-alike `I`"),
    ("python-flask", "`python-flask` is `flask` with the prefix `python-` added"),
    ("python3-dateutil",
     "`python3-dateutil` is `python-dateutil` with the prefix `python-` changed to `python3-`"),
    ("dateutil-python", "`dateutil-python` is `python-dateutil` with its words reordered"),
    ("colourama", "`colourama` is `colorama` with the vowel `u` added"),
])
def test_one_line_explanations(analyzer: Analyzer, candidate: str, explanation: str) -> None:
    assert analyzer.check(candidate).explanation == explanation


def test_keyboard_tables() -> None:
    assert adjacent("s", "a") and adjacent("s", "e") and adjacent("0", "p")
    assert not adjacent("s", "p") and not adjacent("a", "a")
    assert look_alike("l", "1") and look_alike("0", "o") and not look_alike("a", "b")
    assert bit_flip("a", "c") and not bit_flip("a", "b") and not bit_flip("a", "a")


def test_classify_edit_names_the_slip() -> None:
    edit = classify_edit("reqeusts", "requests")
    assert edit is not None and edit.technique is Technique.TRANSPOSITION and edit.old == "ue"
    assert classify_edit("requests", "requests") is None
    assert classify_edit("abcdef", "requests") is None
    assert classify_edit("cu13", "cu12") is None  # a different version number


def test_classify_two_tries_every_alignment() -> None:
    pair = classify_two("reqeuts", "requests")
    assert pair is not None
    assert {e.technique for e in pair} == {Technique.TRANSPOSITION, Technique.OMISSION}
    assert classify_two("abc", "requests") is None

"""Fixtures of the typosquat tests: a small protected index, and the bundled one."""

from __future__ import annotations

import pytest

from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.protected import build_analyzer, configured_protected
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.verdict import Analyzer

# Popular names (ranks 1..n) and a few obscure ones, enough to exercise every technique.
POPULAR = [
    "requests", "urllib3", "python-dateutil", "colorama", "matplotlib", "flask", "django",
    "numpy", "jellyfish", "setuptools", "curl-cffi", "pydantic", "loguru", "jsonschema",
    "typing-extensions", "idna", "aiohttp", "six", "scikit-learn", "pyyaml", "pycrypto",
    "rich",
]
OBSCURE: list[tuple[str, int | None]] = [
    ("kombucha", 9000), ("tmlib", 9500), ("nvidia-cu11", 9700), ("telegram", 14979),
    ("pyaml", 5000), ("parsel-plus", 12000),
]


def small_names() -> list[tuple[str, int | None]]:
    return [(name, rank) for rank, name in enumerate(POPULAR, 1)] + list(OBSCURE)


@pytest.fixture(scope="session")
def small_index() -> ProtectedIndex:
    return ProtectedIndex.build(small_names())


@pytest.fixture(scope="session")
def analyzer(small_index: ProtectedIndex) -> Analyzer:
    """The small index under the default policy, without the default allowlist."""
    return Analyzer.from_settings(TyposquatSection(allowlist=[]), small_index)


@pytest.fixture(scope="session")
def bundled() -> Analyzer:
    """The configured default: top 15,000 of the bundled download list."""
    cfg = TyposquatSection()
    return build_analyzer(cfg, configured_protected(cfg))


@pytest.fixture
def fresh_index() -> ProtectedIndex:
    """The small index, new for each test (for tests that grow it)."""
    return ProtectedIndex.build(small_names())

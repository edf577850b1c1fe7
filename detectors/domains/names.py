"""Registrable domains of email addresses: public suffix list (ICANN section), IDNA.

The registrable domain ("example.co.uk" for "alice@mail.example.co.uk") is what a
registrant owns and what expires; it is what the sweep checks. Names are kept in
their ASCII (A-label) form. Addresses that have none (no "@", an unknown TLD, a bare
public suffix, bad IDNA) are counted and reported by the caller, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME = 253


class BadDomain(ValueError):
    """Not something a registrant can own."""


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # The list bundled with the package; only_icann leaves out private suffixes
    # (github.io, blogspot.com): their operators, not the users, own the name.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


@lru_cache(maxsize=65_536)
def registrable_domain(host: str) -> str:
    """The registrable domain of a host name or email domain, as an A-label string."""
    text = host.strip().rstrip(".")
    if not text or len(text) > MAX_NAME * 4:
        raise BadDomain(f"not a domain name: {host!r}")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise BadDomain(f"not a valid (IDNA) domain name: {host!r}") from exc
    if len(ascii_name) > MAX_NAME:
        raise BadDomain(f"domain name too long: {host!r}")
    found = _psl().privatesuffix(ascii_name)
    if not found:
        raise BadDomain(f"no registrable domain in {host!r} (public suffix or unknown TLD)")
    return str(found)


def email_domain(address: str) -> str:
    """The registrable domain of an email address."""
    local, at, host = address.strip().rpartition("@")
    if not at or not local or not host:
        raise BadDomain(f"not an email address: {address!r}")
    return registrable_domain(host)


def tld_of(domain: str) -> str:
    return domain.rsplit(".", 1)[-1]


def to_unicode(domain: str) -> str:
    """The U-label form, for people; falls back to the A-label if it does not decode."""
    try:
        return str(idna.decode(domain))
    except (idna.IDNAError, UnicodeError):
        return domain


def matches_suffix(host: str, suffixes: Iterable[str]) -> str | None:
    """The listed suffix that `host` is equal to or under ("ns1.bodis.com" -> "bodis.com")."""
    wanted = _suffix_set(tuple(suffixes))
    labels = host.lower().rstrip(".").split(".")
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate in wanted:
            return candidate
    return None


@lru_cache(maxsize=16)
def _suffix_set(suffixes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(s.lower().strip(".") for s in suffixes)


@dataclass(slots=True)
class DomainGroups:
    """Email ids grouped by registrable domain, and the addresses that had none."""

    by_domain: dict[str, list[int]] = field(default_factory=dict)
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (email id, address, why)


def group_emails(rows: Iterable[tuple[int, str]]) -> DomainGroups:
    """Deduplicate: many accounts share a domain, and a domain is checked once."""
    groups = DomainGroups()
    for email_id, address in rows:
        try:
            domain = email_domain(address)
        except BadDomain as exc:
            groups.bad.append((email_id, address, str(exc)))
            continue
        groups.by_domain.setdefault(domain, []).append(email_id)
    return groups

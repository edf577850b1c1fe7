"""Registrable domains from email addresses: PSL (ICANN section), IDNA, bad input counted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.domains.names import (
    BadDomain,
    email_domain,
    group_emails,
    matches_suffix,
    registrable_domain,
    to_unicode,
)
from detectors.domains.settings import DomainsSection, split_host_port


@pytest.mark.parametrize(("address", "domain"), [
    ("alice@example.org", "example.org"),
    ("Alice@Mail.Example.CO.UK", "example.co.uk"),
    ("bob@lists.python.org", "python.org"),
    ("carol@user.github.io", "github.io"),  # private suffixes are ignored: github owns it
    ("dora@bücher.de", "xn--bcher-kva.de"),
    ("eve@почта.пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("frank@example.com.", "example.com"),
])
def test_registrable_domain_of_addresses(address: str, domain: str) -> None:
    assert email_domain(address) == domain


@pytest.mark.parametrize("address", [
    "no-at-sign", "@example.org", "alice@", "alice@co.uk", "alice@localhost",
    "alice@example.notatld", "alice@[192.0.2.1]", "alice@exa mple.org", "alice@-bad-.com",
])
def test_addresses_without_a_registrable_domain_are_refused(address: str) -> None:
    with pytest.raises(BadDomain):
        email_domain(address)


def test_grouping_deduplicates_and_counts_bad_addresses() -> None:
    groups = group_emails([(1, "a@example.org"), (2, "b@EXAMPLE.org"), (3, "c@mail.example.org"),
                           (4, "d@other.net"), (5, "broken"), (6, "x@co.uk")])
    assert groups.by_domain == {"example.org": [1, 2, 3], "other.net": [4]}
    assert [bad[0] for bad in groups.bad] == [5, 6]


def test_unicode_display_and_suffix_matching() -> None:
    assert to_unicode("xn--bcher-kva.de") == "bücher.de"
    assert matches_suffix("NS1.SedoParking.com.", ["sedoparking.com"]) == "sedoparking.com"
    assert matches_suffix("ns1.notsedoparking.com", ["sedoparking.com"]) is None


@given(st.text(max_size=80))
def test_any_text_is_a_domain_or_a_bad_domain(text: str) -> None:
    try:
        result = email_domain(text)
    except BadDomain:
        return
    assert result == result.lower() and result.isascii() and "." in result
    assert registrable_domain(result) == result


def test_settings_parse_lists_and_addresses_from_strings() -> None:
    cfg = DomainsSection.model_validate({
        "parking_nameservers": "bodis.com, sedoparking.com",
        "mailbox_providers": '["gmail.com"]', "whois_servers": '{"de": "whois.denic.de"}',
        "resolver": "[::1]:5353",
    })
    assert cfg.parking_nameservers == ["bodis.com", "sedoparking.com"]
    assert cfg.mailbox_providers == ["gmail.com"] and cfg.whois_servers == {"de": "whois.denic.de"}
    assert split_host_port("[::1]:5353", 53) == ("::1", 5353)
    assert split_host_port("::1", 53) == ("::1", 53)
    assert split_host_port("127.0.0.1", 53) == ("127.0.0.1", 53)
    with pytest.raises(ValueError, match="port"):
        DomainsSection(resolver="127.0.0.1:99999")
    with pytest.raises(ValueError, match="extra"):
        DomainsSection.model_validate({"no_such_option": 1})

"""Which domains the cheap DNS tier sends on to the registry (RDAP or WHOIS), and why.

The registry is rate limited (about 1 request/s per server), so it only sees domains
that DNS flags (NXDOMAIN, no NS, NS moved or parked, MX changed on a critical
maintainer's domain, back after NXDOMAIN, failing for several sweeps), domains
already flagged, domains whose known expiry is near or past, and the planned daily
share of domains whose registry data is oldest (`stale`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from detectors.domains.dns import DnsObservation
from detectors.domains.history import DomainRow
from detectors.domains.names import matches_suffix
from detectors.domains.settings import DomainsSection


def want_mx(row: DomainRow, cfg: DomainsSection) -> bool:
    if row.mailbox_provider or cfg.dns_query_mx == "none":
        return False
    return cfg.dns_query_mx == "all" or row.critical


def near_expiry(row: DomainRow, now: datetime, cfg: DomainsSection) -> bool:
    """Once on entering the expiring window, once after the date, then while flagged."""
    expires, checked = row.expires_at, row.registry_checked_at
    if expires is None or checked is None:
        return False
    # differences of dates, never a date minus the window: that overflows near year 1
    window = timedelta(days=cfg.expiring_days)
    entered = expires - now <= window < expires - checked
    return entered or (now >= expires > checked)


def dns_flag(row: DomainRow, obs: DnsObservation, cfg: DomainsSection) -> str | None:
    """Why this DNS answer needs a registry look, or None."""
    if not obs.evidence:
        failing = row.dns_failures + 1 >= cfg.dns_failures_before_registry
        return "dns:failing" if failing else None
    if row.mailbox_provider:
        return None
    if obs.outcome in ("nxdomain", "nodata"):
        return f"dns:{obs.outcome}"
    past = row.past_dns()
    if past is not None and past.outcome == "nxdomain":
        return "dns:back"
    if past is not None and past.ns and set(obs.ns) != set(past.ns):
        return "dns:ns-changed"
    if any(matches_suffix(ns, cfg.parking_nameservers) for ns in obs.ns):
        return "dns:parked"
    if (row.critical and obs.mx is not None and past is not None and past.mx is not None
            and set(obs.mx) != set(past.mx)):
        return "dns:mx-changed"
    return None


def registry_reason(
    row: DomainRow, obs: DnsObservation | None, planned: str | None, now: datetime,
    cfg: DomainsSection,
) -> str | None:
    """The reason to ask the registry about `row` in this sweep, or None."""
    if obs is not None and (reason := dns_flag(row, obs, cfg)):
        return reason
    if row.flagged_at is not None:
        return "flagged"
    if near_expiry(row, now, cfg):
        return "near-expiry"
    return planned  # "stale" when planned for the registry share

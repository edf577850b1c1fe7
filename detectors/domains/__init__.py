"""Maintainer email domains: expiring, lapsed and resurrected (the `ctx` takeover, 2022).

Registrable domains of verified maintainer emails are checked in tiers, cheap first:
DNS for all, the registry (RDAP, or WHOIS where a TLD has no RDAP) for the few that
DNS flags, that are near expiry or whose registry data is old. Every observation is
kept; the rules compare it with the past.

Entry points: `detector.DomainDetector` (the sweep), `check.check_domains` (the
`warden domain check` report), `settings.DomainsSection` (the `[domains]` section;
this package imports nothing at its top so that bot.config can import it cheaply).
"""

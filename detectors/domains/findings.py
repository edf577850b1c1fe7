"""From rule hits to findings: who is affected, what to offer, how to store and replay.

A finding names the domain (`domain:example.org`), the accounts whose verified emails
use it, their critical projects, the observations with their dates, and offers the
playbooks `unverify-email` and `freeze` when there is an account for them to act on.
All findings about one domain share one incident (group "domain"): a later finding
updates it, may raise its severity, and adds its signals to the evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import AccountProject, DomainAlert, DomainEmailLink
from bot.store.models import Account, Email, Project, Role
from bot.types import Evidence, Finding, Severity
from detectors.domains.rules import Hit

DETECTOR = "domains"
MAX_LISTED = 50


@dataclass(slots=True)
class Affected:
    username: str
    emails: list[dict[str, Any]] = field(default_factory=list)
    projects: set[str] = field(default_factory=set)
    critical_projects: set[str] = field(default_factory=set)


async def affected(session: AsyncSession, ids: list[int]) -> dict[int, list[Affected]]:
    """Accounts with a verified email on each domain, and the projects they maintain."""
    if not ids:
        return {}
    result = await session.execute(
        sa.select(DomainEmailLink.domain_id, Account.username, Email.email, Email.verified_at,
                  Email.source, Project.normalized_name, Project.critical)
        .join(Email, Email.id == DomainEmailLink.email_id)
        .join(Account, Account.id == Email.account_id)
        .outerjoin(Role, sa.and_(Role.account_id == Account.id, Role.removed_at.is_(None)))
        .outerjoin(Project, Project.id == Role.project_id)
        .where(DomainEmailLink.domain_id.in_(ids), Email.verified)
        .order_by(DomainEmailLink.domain_id, Account.username)
    )
    found: dict[int, dict[str, Affected]] = defaultdict(dict)
    for domain_id, username, address, verified_at, source, project, critical in result.all():
        account = found[domain_id].setdefault(username, Affected(username))
        if not any(e["email"] == address for e in account.emails):
            account.emails.append({
                "email": address, "source": source,
                "verified_at": verified_at.isoformat() if verified_at else None,
            })
        if project is not None:
            account.projects.add(project)
            if critical:
                account.critical_projects.add(project)
    # Roles read from the index's database (projects the ledger may not track).
    held = await session.execute(
        sa.select(DomainEmailLink.domain_id, Account.username, AccountProject.project,
                  Project.critical)
        .join(Email, Email.id == DomainEmailLink.email_id)
        .join(Account, Account.id == Email.account_id)
        .join(AccountProject, AccountProject.account_id == Account.id)
        .outerjoin(Project, Project.normalized_name == AccountProject.project)
        .where(DomainEmailLink.domain_id.in_(ids), Email.verified))
    for domain_id, username, project, critical in held.all():
        if username in found[domain_id]:
            found[domain_id][username].projects.add(project)
            if critical:
                found[domain_id][username].critical_projects.add(project)
    return {d: list(accounts.values()) for d, accounts in found.items()}


def _accounts_evidence(accounts: list[Affected]) -> Evidence:
    weak = any(e["source"] == "metadata" for a in accounts for e in a.emails)
    names = ", ".join(a.username for a in accounts[:10]) + ("…" if len(accounts) > 10 else "")
    critical = sorted({p for a in accounts for p in a.critical_projects})
    summary = f"affected accounts: {names or 'none known'}"
    if critical:
        summary += f"; critical projects: {', '.join(critical[:10])}"
    if weak:
        summary += " (some addresses come from package metadata: a weaker signal)"
    return Evidence(summary=summary, data={"accounts": [
        {"username": a.username, "emails": a.emails,
         "critical_projects": sorted(a.critical_projects),
         "projects": sorted(a.projects)[:MAX_LISTED]}
        for a in accounts[:MAX_LISTED]
    ]})


def _offered(accounts: list[Affected], severity: Severity) -> tuple[str, ...]:
    """Only playbooks that can act on something: no account known, nothing to unverify
    or freeze (the incident still says what was seen, for an admin to look into)."""
    if not accounts:
        return ()
    if severity.rank >= Severity.HIGH.rank:
        return ("unverify-email", "freeze")
    return ("unverify-email",)


def _signal(hit: Hit, at: datetime) -> Evidence:
    """One finding in the incident's evidence, with its time: the incident lists them all."""
    return Evidence(summary=f"{hit.kind} ({hit.severity.value}): {hit.summary}",
                    at=at.isoformat(),
                    data={"signal": hit.kind, "severity": hit.severity.value, "key": hit.key})


def build_findings(
    domain: str, hits: list[Hit], accounts: list[Affected], at: datetime
) -> list[Finding]:
    """One finding for the domain (group "domain": one incident per domain, whatever the
    kinds). Named by its most severe hit; every hit is listed in the evidence with its time."""
    if not hits:
        return []
    ordered = sorted(hits, key=lambda h: -h.severity.rank)
    top = ordered[0]
    critical = sorted({p for a in accounts for p in a.critical_projects})
    who = f"; {len(accounts)} account(s)" if accounts else "; no affected account known"
    if critical:
        who += f", critical projects: {', '.join(critical[:5])}"
    summary = top.summary + who
    if any(e["source"] == "metadata" for a in accounts for e in a.emails):
        summary += (" [weaker signal: an address from package metadata, not an email the "
                    "account verified]")
    if len(ordered) > 1:
        others = sorted({h.kind for h in ordered[1:]})
        summary += f" (+{len(ordered) - 1} more signal(s): {', '.join(others)})"
    evidence = [_signal(h, at) for h in ordered] + [e for h in ordered for e in h.evidence]
    evidence.append(_accounts_evidence(accounts))
    return [Finding(
        detector=DETECTOR, kind=top.kind, subject=f"domain:{domain}", severity=top.severity,
        summary=summary, evidence=tuple(evidence), playbooks=_offered(accounts, top.severity),
        group="domain",
    )]


async def unseen(
    session: AsyncSession, hits: dict[int, list[Hit]], at: datetime
) -> dict[int, list[Hit]]:
    """The hits whose (kind, key) was never raised for the domain; records them as raised."""
    if not hits:
        return {}
    result = await session.execute(
        sa.select(DomainAlert.domain_id, DomainAlert.kind, DomainAlert.key)
        .where(DomainAlert.domain_id.in_(list(hits))))
    raised = {(d, k, key) for d, k, key in result.all()}
    fresh: dict[int, list[Hit]] = {}
    rows = []
    for domain_id, domain_hits in hits.items():
        for hit in domain_hits:
            if (domain_id, hit.kind, hit.key[:255]) in raised:
                continue
            raised.add((domain_id, hit.kind, hit.key[:255]))
            fresh.setdefault(domain_id, []).append(hit)
            rows.append({"domain_id": domain_id, "kind": hit.kind, "key": hit.key[:255],
                         "severity": hit.severity.value, "raised_at": at})
    if rows:
        await session.execute(sa.insert(DomainAlert), rows)
    return fresh


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "detector": finding.detector, "kind": finding.kind, "subject": finding.subject,
        "severity": finding.severity.value, "summary": finding.summary,
        "evidence": [e.as_dict() for e in finding.evidence], "playbooks": list(finding.playbooks),
        "group": finding.group,
    }


def finding_from_json(data: dict[str, Any]) -> Finding:
    return Finding(
        detector=data["detector"], kind=data["kind"], subject=data["subject"],
        severity=Severity(data["severity"]), summary=data["summary"],
        evidence=tuple(Evidence(**e) for e in data["evidence"]),
        playbooks=tuple(data["playbooks"]), group=data.get("group"),
    )

"""From rule hits to findings: who is affected, what to offer, how to store and replay.

A finding names the domain (`domain:example.org`), the accounts whose verified emails
use it, their critical projects, the observations with their dates, and offers the
playbooks `unverify-email` and `freeze`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.domain_models import DomainAlert, DomainEmailLink
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


def build_findings(domain: str, hits: list[Hit], accounts: list[Affected]) -> list[Finding]:
    """One finding per kind (its dedup key is detector/kind/domain), most severe first."""
    by_kind: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_kind[hit.kind].append(hit)
    critical = sorted({p for a in accounts for p in a.critical_projects})
    who = f"; {len(accounts)} account(s)" if accounts else ""
    if critical:
        who += f", critical projects: {', '.join(critical[:5])}"
    findings = []
    for kind, group in by_kind.items():
        top = max(group, key=lambda h: h.severity.rank)
        evidence = [e for h in group for e in h.evidence] + [_accounts_evidence(accounts)]
        playbooks = ("unverify-email", "freeze") if top.severity.rank >= Severity.HIGH.rank \
            else ("unverify-email",)
        summary = top.summary + who
        if len(group) > 1:
            summary += f" (+{len(group) - 1} more signal(s))"
        findings.append(Finding(
            detector=DETECTOR, kind=kind, subject=f"domain:{domain}", severity=top.severity,
            summary=summary, evidence=tuple(evidence), playbooks=playbooks,
        ))
    return sorted(findings, key=lambda f: -f.severity.rank)


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
    }


def finding_from_json(data: dict[str, Any]) -> Finding:
    return Finding(
        detector=data["detector"], kind=data["kind"], subject=data["subject"],
        severity=Severity(data["severity"]), summary=data["summary"],
        evidence=tuple(Evidence(**e) for e in data["evidence"]),
        playbooks=tuple(data["playbooks"]),
    )

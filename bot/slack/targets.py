"""What a playbook button on an incident acts on: candidates from its subject and evidence.

A removal incident names its project; a typosquat names the look-alike project, its
releases and its uploaders; a domain incident names the accounts and addresses on the
domain. The admin picks one in the plan modal when there are several.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from playbooks.base import Target

__all__ = ["actionable", "candidates"]

MAX_CANDIDATES = 50


def _data(evidence: list[Any]) -> Iterator[dict[str, Any]]:
    for item in evidence:
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, dict):
            yield data


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, str | int)] if isinstance(value, list) else []


def _accounts(evidence: list[Any]) -> list[str]:
    found: list[str] = []
    for data in _data(evidence):
        found += _strings(data.get("uploaders"))
        for account in data.get("accounts") or []:
            name = account.get("username") if isinstance(account, dict) else account
            if isinstance(name, str):
                found.append(name)
    return found


def _emails(evidence: list[Any]) -> list[str]:
    found: list[str] = []
    for data in _data(evidence):
        for account in data.get("accounts") or []:
            for email in account.get("emails") or [] if isinstance(account, dict) else []:
                address = email.get("email") if isinstance(email, dict) else email
                if isinstance(address, str):
                    found.append(address)
    return found


def _versions(evidence: list[Any]) -> list[str]:
    found: list[str] = []
    for data in _data(evidence):
        found += _strings(data.get("versions")) + _strings(data.get("releases"))
    return found


def _reported(evidence: list[Any]) -> list[str]:
    found: list[str] = []
    for data in _data(evidence):
        found += _strings(data.get("reported_versions"))
    return found


def _unique(targets: list[Target]) -> list[Target]:
    seen: dict[str, Target] = {}
    for target in targets:
        seen.setdefault(target.describe(), target)
    return list(seen.values())[:MAX_CANDIDATES]


def candidates(playbook: str, subject: str, evidence: list[Any]) -> list[Target]:
    """Targets `playbook` may act on for an incident, the most likely first."""
    kind, _, rest = subject.partition(":")
    project, _, version = rest.partition("@") if kind == "project" else ("", "", "")
    found: list[Target] = []
    if playbook in ("restore", "quarantine", "unquarantine", "remove-malware", "not-malware") \
            and project:
        # A subject naming a release (project:x@1.0) is about that release only.
        found.append(Target(project=project, version=version or None))
        if playbook in ("quarantine", "remove-malware") and not version:
            # A malware report names the releases it is about: each is a choice too.
            found += [Target(project=project, version=v) for v in _reported(evidence)]
    elif playbook in ("yank", "unyank") and project:
        found += [Target(project=project, version=v)
                  for v in ([version] if version else _versions(evidence))]
    elif playbook in ("freeze", "unfreeze"):
        found += [Target(account=rest)] if kind == "account" else []
        found += [Target(account=a) for a in _accounts(evidence)]
    elif playbook == "unverify-email":
        found += [Target(email=rest)] if kind == "email" else []
        found += [Target(email=e) for e in _emails(evidence)]
    return _unique(found)


# Playbooks whose target comes only from the incident (an account or an address named in
# its subject or evidence): with none named, the button would open a modal with nothing
# to pick, so it is not offered.
_NEEDS_A_NAMED_TARGET = frozenset({"freeze", "unfreeze", "unverify-email"})


def actionable(playbooks: list[str], subject: str, evidence: list[Any]) -> list[str]:
    """The incident's playbooks that can act on something (issue 18: a domain incident
    with no affected account offers no unverify or freeze)."""
    return [p for p in playbooks
            if p not in _NEEDS_A_NAMED_TARGET or candidates(p, subject, evidence)]

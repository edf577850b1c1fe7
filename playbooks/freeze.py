"""freeze / unfreeze an account, and unverify-email (the ctx-style takeover responses).

freeze does what Warehouse's admin ``user_freeze`` does: ``is_frozen``, and the domain of
every verified address of the account goes to ``prohibited_email_domains`` (comment
"frozen"), so whoever holds the domain cannot register a new account with it: the point
of a domain-takeover response. Better than Warehouse, a domain that other active accounts
verify with (a shared mail provider) is not prohibited unless ``prohibit_shared_domains``
asks for it; the plan names every domain it skips and why. Other options:
``unverify_emails`` (every verified address, so a password reset cannot go to a
resurrected domain) and ``block_password_reset`` (Warehouse's ``prohibit_password_reset``).

unfreeze reverses the freeze and, if the last freeze blocked password resets, that too;
addresses stay unverified (the owner re-verifies them) and prohibited domains stay
prohibited (as after Warehouse's unfreeze). On devpi, freeze only takes the user out of
``acl_upload`` of the indexes that list them, and unfreeze puts them back into the indexes
the last freeze took them out of (see playbooks.index_admin.devpi).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from playbooks.base import (
    Check,
    Plan,
    PlaybookContext,
    Step,
    StepOutcome,
    Target,
    Verification,
)
from playbooks.index_admin.base import IndexAccount

__all__ = ["FROZEN_COMMENT", "FreezePlaybook", "UnfreezePlaybook", "UnverifyEmailPlaybook"]

FROZEN_COMMENT = "frozen"  # Warehouse's comment on the domains its freeze prohibits
_SHOWN = 5  # accounts named per shared domain in the plan

_Apply = Callable[[Step, PlaybookContext], Awaitable[bool]]


async def _set_frozen(step: Step, ctx: PlaybookContext) -> bool:
    d = step.data
    return await ctx.admin.set_frozen(d["account"], d["frozen"], ctx.actor, d["indexes"])


async def _password_reset(step: Step, ctx: PlaybookContext) -> bool:
    d = step.data
    return await ctx.admin.set_password_reset_prohibited(d["account"], d["prohibited"], ctx.actor)


async def _unverify(step: Step, ctx: PlaybookContext) -> bool:
    return await ctx.admin.unverify_email(step.data["email"], ctx.actor,
                                          step.data.get("reason", ""))


async def _prohibit_domain(step: Step, ctx: PlaybookContext) -> bool:
    d = step.data
    return await ctx.admin.prohibit_email_domain(d["domain"], ctx.actor, d["comment"])


_APPLY: dict[str, _Apply] = {
    "freeze-account": _set_frozen,
    "unfreeze-account": _set_frozen,
    "prohibit-password-reset": _password_reset,
    "allow-password-reset": _password_reset,
    "unverify-email": _unverify,
    "prohibit-email-domain": _prohibit_domain,
}


async def _apply(step: Step, ctx: PlaybookContext) -> StepOutcome:
    return StepOutcome(await _APPLY[step.action](step, ctx))


async def _verify_steps(plan: Plan, ctx: PlaybookContext) -> Verification:
    """Read the account back and check every step's effect."""
    checks: list[Check] = []
    for step in plan.steps:
        d = step.data
        if step.action == "prohibit-email-domain":
            use = await ctx.admin.email_domain(d["domain"], d["account"])
            checks.append(Check(step.summary, use.prohibited))
            continue
        account = (await ctx.admin.email_owner(d["email"]) if step.action == "unverify-email"
                   else await ctx.admin.account(d["account"]))
        if account is None:
            checks.append(Check(step.summary, False, "account not found"))
            continue
        checks.append(_check(step, account))
    return Verification(tuple(checks))


def _check(step: Step, account: IndexAccount) -> Check:
    d = step.data
    if step.action.endswith("-account"):
        flag_ok = account.frozen is None or account.frozen == d["frozen"]
        listed = set(account.upload_indexes) & set(d["indexes"])
        acl_ok = not listed if d["frozen"] else listed == set(d["indexes"])
        return Check(step.summary, flag_ok and acl_ok,
                     f"frozen={account.frozen} upload_indexes={list(account.upload_indexes)}")
    if step.action.endswith("-password-reset"):
        return Check(step.summary, account.password_reset_prohibited == d["prohibited"])
    email = next((e for e in account.emails if e.email.lower() == d["email"].lower()), None)
    return Check(step.summary, email is not None and not email.verified)


def _domains(account: IndexAccount) -> list[str]:
    """The domains of the account's verified addresses (Warehouse's ``Email.domain``)."""
    return list(dict.fromkeys(e.email.split("@")[-1].lower() for e in account.emails
                              if e.verified))


async def _domain_steps(account: IndexAccount, shared: bool, ctx: PlaybookContext,
                        notes: list[str]) -> list[Step]:
    domains = _domains(account)
    if not domains:
        return []
    if (why := ctx.admin.unsupported("prohibit-email-domain")) is not None:
        notes.append(f"email domains not prohibited: {why}")
        return []
    steps = []
    for domain in domains:
        use = await ctx.admin.email_domain(domain, account.username)
        if use.prohibited:
            notes.append(f"email domain {domain} is already prohibited")
            continue
        others = ", ".join(use.shared_with[:_SHOWN]) + (
            f" and {len(use.shared_with) - _SHOWN} more" if len(use.shared_with) > _SHOWN else "")
        if use.shared_with and not shared:
            notes.append(f"email domain {domain} NOT prohibited: {len(use.shared_with)} other "
                         f"active account(s) verify with it ({others}), so it looks like a "
                         "shared mail provider; --prohibit-shared-domains prohibits it anyway")
            continue
        steps.append(Step(
            key=f"prohibit-domain:{domain}", action="prohibit-email-domain",
            summary=f"prohibit email domain {domain} for new accounts (comment "
                    f"\"{FROZEN_COMMENT}\")" + (f", although {len(use.shared_with)} other "
                                                f"active account(s) use it ({others})"
                                                if use.shared_with else ""),
            data={"domain": domain, "account": account.username, "comment": FROZEN_COMMENT}))
    return steps


class FreezePlaybook:
    name = "freeze"
    destructive = True
    description = ("Freeze an account and prohibit the domains of its verified addresses "
                   "(optionally unverify them and block password resets).")

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        unverify, block = bool(options.get("unverify_emails")), bool(
            options.get("block_password_reset"))
        shared = bool(options.get("prohibit_shared_domains"))
        opts = {"unverify_emails": unverify, "block_password_reset": block,
                "prohibit_shared_domains": shared}
        if not target.account:
            return Plan.refused(self.name, target, reason, "freeze needs an account")
        wanted = ["freeze"] + ["unverify-email"] * unverify + ["prohibit-password-reset"] * block
        why = [w for a in wanted if (w := ctx.admin.unsupported(a)) is not None]
        account = await ctx.admin.account(target.account)
        if account is None:
            why.append(f"account {target.account} does not exist on the index")
        if why or account is None:
            return Plan(self.name, target, reason, (), opts, (), tuple(why))
        steps, notes = [], []
        if account.frozen is None:
            notes.append("this index has no account freeze: the user is only taken out of the "
                         "upload lists of other indexes (partial)")
        if account.frozen is False or account.upload_indexes:
            steps.append(Step(
                key=f"freeze:{account.username}", action="freeze-account",
                summary=f"freeze account {account.username}" + (
                    f" (remove from acl_upload of {', '.join(account.upload_indexes)})"
                    if account.upload_indexes else ""),
                data={"account": account.username, "frozen": True,
                      "indexes": list(account.upload_indexes)}))
        else:
            notes.append("the account is already frozen")
        steps += await _domain_steps(account, shared, ctx, notes)
        for email in account.emails if unverify else ():
            if email.verified:
                steps.append(Step(key=f"unverify:{email.email.lower()}", action="unverify-email",
                                  summary=f"unverify {email.email}",
                                  data={"email": email.email, "reason": reason}))
        if block and not account.password_reset_prohibited:
            steps.append(Step(key=f"prohibit-reset:{account.username}",
                              action="prohibit-password-reset",
                              summary=f"prohibit password resets for {account.username}",
                              data={"account": account.username, "prohibited": True}))
        return Plan(self.name, target, reason, tuple(steps), opts, tuple(notes))

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return await _apply(step, ctx)

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        return await _verify_steps(plan, ctx)


class UnfreezePlaybook:
    name = "unfreeze"
    destructive = False  # undoes an earlier, approved freeze
    description = "Unfreeze an account (and allow password resets if the freeze blocked them)."

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        if not target.account:
            return Plan.refused(self.name, target, reason, "unfreeze needs an account")
        account = await ctx.admin.account(target.account)
        if account is None:
            return Plan.refused(self.name, target, reason,
                            f"account {target.account} does not exist on the index")
        last = await ctx.history("freeze", target.describe())
        frozen_steps = [s for s in (last.steps if last else ()) if s.action == "freeze-account"]
        indexes = [i for s in frozen_steps for i in s.data["indexes"]
                   if i not in account.upload_indexes]
        steps = []
        if account.frozen or indexes:
            steps.append(Step(
                key=f"unfreeze:{account.username}", action="unfreeze-account",
                summary=f"unfreeze account {account.username}" + (
                    f" (back into acl_upload of {', '.join(indexes)})" if indexes else ""),
                data={"account": account.username, "frozen": False, "indexes": indexes}))
        blocked = last is not None and any(s.action == "prohibit-password-reset"
                                           for s in last.steps)
        if blocked and account.password_reset_prohibited:
            steps.append(Step(key=f"allow-reset:{account.username}",
                              action="allow-password-reset",
                              summary=f"allow password resets for {account.username} again",
                              data={"account": account.username, "prohibited": False}))
        notes = [] if steps else ["the account is not frozen"]
        domains = [s.data["domain"] for s in (last.steps if last else ())
                   if s.action == "prohibit-email-domain"]
        if domains:
            notes.append(f"email domain(s) prohibited by the freeze stay prohibited: "
                         f"{', '.join(domains)}")
        return Plan(self.name, target, reason, tuple(steps), {}, tuple(notes))

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return await _apply(step, ctx)

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        return await _verify_steps(plan, ctx)


class UnverifyEmailPlaybook:
    name = "unverify-email"
    destructive = True
    description = "Mark an address unverified (its domain may have changed hands)."

    async def plan(self, target: Target, reason: str, options: Mapping[str, Any],
                   ctx: PlaybookContext) -> Plan:
        if not target.email:
            return Plan.refused(self.name, target, reason, "unverify-email needs an address")
        if (why := ctx.admin.unsupported("unverify-email")) is not None:
            return Plan.refused(self.name, target, reason, why)
        account = await ctx.admin.email_owner(target.email)
        email = next((e for e in account.emails if e.email.lower() == target.email.lower()),
                     None) if account else None
        if account is None or email is None:
            return Plan.refused(self.name, target, reason, f"no account has {target.email}")
        if not email.verified:
            return Plan(self.name, target, reason, (), {}, ("the address is already unverified",))
        step = Step(key=f"unverify:{email.email.lower()}", action="unverify-email",
                    summary=f"unverify {email.email} of {account.username}",
                    data={"email": email.email, "reason": reason})
        return Plan(self.name, target, reason, (step,))

    async def apply_step(self, step: Step, ctx: PlaybookContext) -> StepOutcome:
        return await _apply(step, ctx)

    async def verify(self, plan: Plan, ctx: PlaybookContext) -> Verification:
        return await _verify_steps(plan, ctx)

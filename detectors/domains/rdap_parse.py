"""Reading an RDAP domain object (RFC 9083) into a `RegistryRecord`, defensively.

The answer is untrusted input. Anything that is not shaped like a domain object, or
that would make a rule decide on a guess (a date that does not parse, a status that
is not text), raises `Malformed` with a reason a person can read; optional parts that
are merely missing (no registrar entity, no nameservers) are allowed.

What is kept goes to the store, into findings and onto people's screens, so it is
bounded here: text without NUL or unpaired surrogates (neither can be stored), within
a length, lists within a count, dates within a range the rules can do arithmetic on.
"""

from __future__ import annotations

import json
from typing import Any

from detectors.domains.registry import RegistryRecord, checked_instant, normalize_status

MAX_STATUSES = 64
MAX_EVENTS = 256
MAX_NAMESERVERS = 64
MAX_HOST = 253  # a DNS name
MAX_NAME = 255  # registrar name, handle, status, event action

KNOWN_EVENTS = frozenset(
    {"registration", "expiration", "last changed", "transfer", "reinstantiation",
     "deletion", "reregistration", "locked", "unlocked", "enrollment", "reinstatement"}
)


class Malformed(ValueError):
    """The RDAP answer cannot be used; str() says why."""


def _shown(value: Any) -> str:
    """An untrusted value in a reason: repr (escapes control characters), cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _reject_constant(name: str) -> Any:
    raise Malformed(f"not JSON: {name} is not a JSON number")


def decode(body: bytes) -> Any:
    """The JSON value of an answer body; `Malformed` for anything that is not JSON text."""
    try:
        text = body.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8
    except UnicodeDecodeError as exc:
        raise Malformed(f"not JSON: invalid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise Malformed("not JSON we read: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers beyond the digit limit
        if isinstance(exc, Malformed):
            raise
        raise Malformed(f"not JSON: {str(exc)[:200]}") from None


def _list(obj: dict[str, Any], key: str, limit: int | None = None) -> list[Any]:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"'{key}' is a {type(value).__name__}, not a list")
    if limit is not None and len(value) > limit:
        raise Malformed(f"'{key}' lists {len(value)} items, more than {limit}")
    return value


def _text(value: Any, what: str, limit: int = MAX_NAME) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} is a {type(value).__name__}, not text")
    if len(value) > limit:
        raise Malformed(f"{what} is {len(value)} characters long, more than {limit}")
    if "\x00" in value:
        raise Malformed(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise Malformed(f"{what} contains an unpaired surrogate (U+{code:04X})") from None
    return value


def _vcard_name(entity: dict[str, Any]) -> str | None:
    # vcardArray: ["vcard", [[name, params, type, value], ...]] (jCard, RFC 7095)
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return None
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn":
            value = prop[3]
            if not isinstance(value, str):
                return None
            return _text(value, "the registrar's name").strip() or None
    return None


def _registrar(entities: list[Any]) -> tuple[str | None, str | None]:
    for entity in entities:
        if not isinstance(entity, dict):
            raise Malformed("an entity is not an object")
        roles = entity.get("roles", [])
        if not isinstance(roles, list) or "registrar" not in roles:
            continue
        iana_id = None
        for public_id in _list(entity, "publicIds"):
            if isinstance(public_id, dict) and public_id.get("type") == "IANA Registrar ID":
                identifier = public_id.get("identifier")
                if isinstance(identifier, int) and not isinstance(identifier, bool):
                    identifier = str(identifier)  # within the digit limit: decode() checked
                iana_id = (_text(identifier, "the IANA registrar id", 64)
                           if isinstance(identifier, str) else None)
        handle = entity.get("handle")
        name = _vcard_name(entity) or (
            _text(handle, "the registrar's handle") if isinstance(handle, str) else None)
        return name, iana_id
    return None, None


def parse_domain(obj: Any, expected: str | None = None) -> RegistryRecord:
    """A `RegistryRecord` from a decoded RDAP domain answer; raises `Malformed`."""
    if not isinstance(obj, dict):
        raise Malformed(f"the answer is a JSON {type(obj).__name__}, not an object")
    kind = obj.get("objectClassName", "domain")
    if kind != "domain":
        raise Malformed(f"objectClassName is {_shown(kind)}, not 'domain'")
    name = obj.get("ldhName")
    if expected is not None and isinstance(name, str) and name.lower().rstrip(".") != expected:
        raise Malformed(f"the answer is about {_shown(name)}, not {expected!r}")

    statuses = tuple(
        dict.fromkeys(
            s for s in (normalize_status(_text(v, "a status"))
                        for v in _list(obj, "status", MAX_STATUSES)) if s
        )
    )
    events: list[tuple[str, Any]] = []
    for event in _list(obj, "events", MAX_EVENTS):
        if not isinstance(event, dict):
            raise Malformed("an event is not an object")
        action = _text(event.get("eventAction"), "an eventAction").strip().lower()
        date_text = _text(event.get("eventDate"), f"the date of event {action!r}", 64)
        try:
            events.append((action, checked_instant(date_text)))
        except ValueError as exc:
            why = "out of range" if "range" in str(exc) else "not RFC 3339"
            raise Malformed(f"event {action!r} has an unreadable date {date_text!r} ({why})") from None

    nameservers: list[str] = []
    for server in _list(obj, "nameservers", MAX_NAMESERVERS):
        if not isinstance(server, dict):
            raise Malformed("a nameserver is not an object")
        ldh = _text(server.get("ldhName"), "a nameserver's ldhName", MAX_HOST)
        nameservers.append(ldh.lower().rstrip("."))

    registrar, registrar_id = _registrar(_list(obj, "entities"))
    if not statuses and not events and not nameservers:
        raise Malformed("no status, no events and no nameservers: nothing to go on")

    def last(action: str) -> Any:
        dates = [when for a, when in events if a == action]
        return max(dates) if dates else None

    registered = [when for a, when in events if a == "registration"]
    return RegistryRecord(
        statuses=statuses,
        registered=max(registered) if registered else None,
        expires=last("expiration"),
        last_changed=last("last changed"),
        registrar=registrar,
        registrar_id=registrar_id,
        nameservers=tuple(sorted(set(nameservers))),
        events=tuple(sorted((a, w) for a, w in events if a in KNOWN_EVENTS)),
    )

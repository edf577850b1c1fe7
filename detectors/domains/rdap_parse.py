"""Reading an RDAP domain object (RFC 9083) into a `RegistryRecord`, defensively.

The answer is untrusted input. Anything that is not shaped like a domain object, or
that would make a rule decide on a guess (a date that does not parse, a status that
is not text), raises `Malformed` with a reason a person can read; optional parts that
are merely missing (no registrar entity, no nameservers) are allowed.
"""

from __future__ import annotations

from typing import Any

from detectors.domains.registry import RegistryRecord, normalize_status, parse_instant

KNOWN_EVENTS = frozenset(
    {"registration", "expiration", "last changed", "transfer", "reinstantiation",
     "deletion", "reregistration", "locked", "unlocked", "enrollment", "reinstatement"}
)


class Malformed(ValueError):
    """The RDAP answer cannot be used; str() says why."""


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"'{key}' is a {type(value).__name__}, not a list")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{what} is a {type(value).__name__}, not text")
    return value


def _vcard_name(entity: dict[str, Any]) -> str | None:
    # vcardArray: ["vcard", [[name, params, type, value], ...]] (jCard, RFC 7095)
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return None
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and prop[0] == "fn":
            value = prop[3]
            return value.strip() or None if isinstance(value, str) else None
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
                iana_id = str(identifier) if isinstance(identifier, str | int) else None
        handle = entity.get("handle")
        name = _vcard_name(entity) or (handle if isinstance(handle, str) else None)
        return name, iana_id
    return None, None


def parse_domain(obj: Any, expected: str | None = None) -> RegistryRecord:
    """A `RegistryRecord` from a decoded RDAP domain answer; raises `Malformed`."""
    if not isinstance(obj, dict):
        raise Malformed(f"the answer is a JSON {type(obj).__name__}, not an object")
    kind = obj.get("objectClassName", "domain")
    if kind != "domain":
        raise Malformed(f"objectClassName is {kind!r}, not 'domain'")
    name = obj.get("ldhName")
    if expected is not None and isinstance(name, str) and name.lower().rstrip(".") != expected:
        raise Malformed(f"the answer is about {name!r}, not {expected!r}")

    statuses = tuple(
        dict.fromkeys(
            s for s in (normalize_status(_text(v, "a status")) for v in _list(obj, "status")) if s
        )
    )
    events: list[tuple[str, Any]] = []
    for event in _list(obj, "events"):
        if not isinstance(event, dict):
            raise Malformed("an event is not an object")
        action = _text(event.get("eventAction"), "an eventAction").strip().lower()
        date_text = _text(event.get("eventDate"), f"the date of event {action!r}")
        try:
            events.append((action, parse_instant(date_text)))
        except ValueError:
            raise Malformed(f"event {action!r} has an unreadable date {date_text!r}") from None

    nameservers: list[str] = []
    for server in _list(obj, "nameservers"):
        if not isinstance(server, dict):
            raise Malformed("a nameserver is not an object")
        ldh = _text(server.get("ldhName"), "a nameserver's ldhName")
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

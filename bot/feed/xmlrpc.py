"""XML-RPC encoding and safe decoding of the index's responses.

Responses are untrusted: decoded with defusedxml's expat parser (no DTDs, no entity
expansion) into xmlrpc.client's own unmarshaller, so the values are exactly what the
standard library would give, without its exposure to entity bombs.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser


class MalformedResponse(Exception):
    """The index answered with something that is not a usable XML-RPC response."""


class RemoteFault(MalformedResponse):
    """The index answered with an XML-RPC fault."""


def encode_call(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode("utf-8")


def decode_response(body: bytes) -> Any:
    """Return the single value of a methodResponse, or raise MalformedResponse."""
    unmarshaller = xmlrpc.client.Unmarshaller(use_datetime=False, use_builtin_types=True)
    parser = DefusedExpatParser(unmarshaller, forbid_dtd=True)
    try:
        parser.feed(body)
        parser.close()
        values = unmarshaller.close()
    except xmlrpc.client.Fault as fault:
        raise RemoteFault(f"XML-RPC fault {fault.faultCode}: {fault.faultString}") from None
    except (DefusedXmlException, xmlrpc.client.ResponseError) as exc:
        raise MalformedResponse(f"refused XML-RPC response: {exc}") from None
    except Exception as exc:  # expat and the unmarshaller raise many types on garbage
        raise MalformedResponse(f"bad XML-RPC response: {type(exc).__name__}: {exc}") from None
    if len(values) != 1:
        raise MalformedResponse(f"XML-RPC response has {len(values)} values, expected 1")
    return values[0]

"""Every project name the index has, from its PEP 691 simple index (``GET /simple/``
as ``application/vnd.pypi.simple.v1+json``: ``{"projects": [{"name": ...}]}``)."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from bot.feed.client import IndexClient
from bot.feed.schema import MAX_NAME
from bot.feed.xmlrpc import MalformedResponse

__all__ = ["project_names"]

_ACCEPT = "application/vnd.pypi.simple.v1+json"


class _Project(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME,
                                           pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]


class _Index(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    projects: list[_Project]


async def project_names(client: IndexClient) -> list[str]:
    """The names, size-capped by the client and validated; MalformedResponse otherwise."""

    async def attempt() -> list[str]:
        async with client.session.get(f"{client.base_url}/simple/",
                                      headers={"Accept": _ACCEPT},
                                      allow_redirects=False) as response:
            client._check_status(response)
            if response.status != 200:
                raise MalformedResponse(f"GET /simple/: HTTP {response.status}")
            body = await client._read(response)
        try:
            document = _Index.model_validate(json.loads(body))
        except (ValueError, RecursionError, ValidationError) as exc:
            raise MalformedResponse(f"GET /simple/: {str(exc)[:200]}") from None
        return [p.name for p in document.projects]

    return await client._with_retries("GET /simple/", attempt)

"""The error answers of the API, as the OpenAPI document shows them.

One body for every JSON error (``ErrorBody``): domain errors (``civgrid.errors``) have a message
in ``detail``; a request that does not match its schema (422 ``invalid``) has the list of what is
wrong in ``detail``. Each router declares the errors its operations can answer with
``responses=api_errors(…)``; GeoReport (``/open311/v2``) has its own error list
(``georeport_errors``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class FieldIssue(BaseModel):
    """One reason a request does not match its schema."""

    loc: list[str | int] = Field(description="Where: the part of the request, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every JSON error: what is wrong, and a stable code to branch on."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[FieldIssue] = Field(
        description="The message; for a request that does not match its schema, the list of "
        "what is wrong"
    )
    code: str = Field(description="Stable: unauthorized, forbidden, not_found, conflict, …")
    request_id: str | None = Field(None, description="On server errors: quote it when reporting")


class GeoReportError(BaseModel):
    code: int
    description: str


GeoReportErrors = RootModel[list[GeoReportError]]

_MEANING = {
    400: "Text that is not text (a NUL character, not UTF-8) or a value out of range",
    401: "No valid credentials: a missing, expired or malformed bearer token, or a wrong password",
    403: "Authenticated, but the role or jurisdiction does not allow this",
    404: "No such resource, or one outside the user's jurisdiction",
    409: "The resource's state does not allow this now (a workflow step, a duplicate)",
    413: "The upload is too large",
    422: "The request does not match its schema, or a value is refused",
    429: "Too many attempts; try again after Retry-After seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def api_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a JSON router: ``ErrorBody`` for each of ``statuses`` (and 400)."""
    return {
        status: {
            "model": ErrorBody,
            "description": _MEANING[status],
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in sorted({400, *statuses})
    }


def georeport_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of the GeoReport router: the spec's error list, JSON or XML.

    GeoReport has no 401 or 422 (a bad key is 403, a bad argument 400): "4XX" stands for any
    other client error, in the same format (and keeps FastAPI from documenting its 422).
    """
    content = {"text/xml": {"schema": {"type": "string", "description": "<errors><error>…"}}}
    meanings: list[tuple[int | str, str]] = [(s, _MEANING[s]) for s in sorted({400, *statuses})]
    meanings.append(("4XX", "Any other client error"))
    return {
        status: {"model": GeoReportErrors, "description": text, "content": content}
        for status, text in meanings
    }


# Routers whose operations all need a login (401), check a role or scope (403), look rows up
# (404), change state (409) and validate (422).
AUTHENTICATED = api_errors(401, 403, 404, 409, 422)

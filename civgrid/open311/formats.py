"""GeoReport v2 documents in JSON or XML, and the spec's error list in either.

A document is built once as plain data (dicts, lists, scalars); :func:`respond` writes it in
the format the path asked for. XML lists wrap each item in the singular element the spec
names (``services`` → ``service``, ``service_requests`` → ``request`` …).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405  (we only write XML, never parse it)

from fastapi.responses import Response

from civgrid.config import get_settings

FORMATS = ("json", "xml")
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPE = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def w3c(moment: datetime | None) -> str | None:
    """ISO 8601 with the deployment's UTC offset, e.g. ``2026-03-01T09:30:00+08:00``."""
    if moment is None:
        return None
    return moment.astimezone(get_settings().tz).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        item = ITEM_OF[element.tag]
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """``data`` under the element ``root``, with the UTF-8 declaration the spec requires."""
    element = ET.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def respond(fmt: str, root: str, data: Any, status_code: int = 200) -> Response:
    """The document in JSON (``data`` as it is) or XML (``data`` under ``root``)."""
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status_code, media_type=CONTENT_TYPE[fmt])


def error_response(fmt: str, status_code: int, description: str) -> Response:
    """The spec's error list: ``[{"code": 400, "description": "…"}]`` or ``<errors>…``."""
    return respond(fmt, "errors", [{"code": status_code, "description": description}], status_code)


def format_of_path(path: str) -> str:
    """The format a GeoReport path asks for (JSON unless it ends in ``.xml``)."""
    return "xml" if path.lower().endswith(".xml") else "json"

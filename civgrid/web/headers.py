"""Security headers on every response, configured here and nowhere else (docs/security.md).

- ``Content-Security-Policy``: scripts, styles, fonts and connections from our own origin only;
  no inline script, no inline ``style`` attribute or element, no ``eval``. Leaflet sets its
  styles through the CSSOM (``element.style``), which a policy allows; htmx's own indicator
  ``<style>`` is turned off by the ``htmx-config`` meta tag of ``web/base.html`` and its rules
  live in ``civgrid.css``. Images may also be ``data:``/``blob:`` URLs and come from the base
  map's tile server when the deployment configures one (``CIVGRID_TILE_URL``). No page may be
  framed (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for old browsers).
- The API reference (``/docs``, Swagger UI) loads its bundle from ``cdn.jsdelivr.net``, as
  FastAPI does: that one page may also take scripts and styles from there, nothing inline.
- ``Strict-Transport-Security`` only where the site is served over HTTPS: by default in
  production (``CIVGRID_ENV=production``), or as ``CIVGRID_HSTS`` says.

``SecurityHeaders`` wraps the whole application, outside Starlette's error middleware, so that
a 500 carries the headers too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civgrid.config import Settings

API_REFERENCE = "/docs"
SWAGGER_CDN = "https://cdn.jsdelivr.net"


def tile_source(tile_url: str) -> str | None:
    """The CSP source that admits a Leaflet tile URL template, or None (no tiles, or our own).

    ``https://webrd0{s}.is.autonavi.com/appmaptile?x={x}…`` → ``https://*.is.autonavi.com``: a
    host label with a placeholder, and every label left of it, becomes the one wildcard a
    CSP host source allows.
    """
    url = urlsplit(tile_url.strip())
    if not url.scheme or not url.netloc:
        return None  # "" or a path on our own origin ('self')
    host, _, port = url.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    source = f"{url.scheme}://{'.'.join(labels)}"
    return f"{source}:{port}" if port and "{" not in port else source


def content_security_policy(settings: Settings, *, api_reference: bool = False) -> str:
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(settings.tile_url)
    if tiles:
        images.append(tiles)
    scripts = ["'self'", SWAGGER_CDN] if api_reference else ["'self'"]
    directives = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": scripts,
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def hsts_enabled(settings: Settings) -> bool:
    return settings.env == "production" if settings.hsts is None else settings.hsts


def security_headers(settings: Settings, *, api_reference: bool = False) -> dict[str, str]:
    """The headers every response carries (``api_reference``: those of ``/docs``)."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings, api_reference=api_reference),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if hsts_enabled(settings):
        headers["Strict-Transport-Security"] = f"max-age={settings.hsts_max_age}"
    return headers


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class SecurityHeaders:
    """ASGI middleware: ``security_headers`` on every HTTP response (replacing any set before)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.pages = _raw(security_headers(settings))
        self.reference = _raw(security_headers(settings, api_reference=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.reference if scope["path"] == API_REFERENCE else self.pages
        names = {name for name, _ in ours}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + ours
            await send(message)

        await self.app(scope, receive, send_with_headers)

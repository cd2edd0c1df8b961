"""Domain errors. Each carries the HTTP status the web layer answers with."""

from __future__ import annotations


class CivgridError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: object) -> None:
        # A message may name values of ``detail`` ("%(limit_mb)s"): ``template`` is the msgid
        # that pages translate, ``message`` the English text with the values in.
        self.template = message
        self.message = message % detail if "%(" in message else message
        super().__init__(self.message)
        self.detail = detail


class Unauthorized(CivgridError):
    status_code = 401
    code = "unauthorized"


class Forbidden(CivgridError):
    status_code = 403
    code = "forbidden"


class NotFound(CivgridError):
    status_code = 404
    code = "not_found"


class Conflict(CivgridError):
    status_code = 409
    code = "conflict"


class Invalid(CivgridError):
    status_code = 422
    code = "invalid"


class TooManyRequests(CivgridError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **detail: object) -> None:
        super().__init__(message, **detail)
        self.retry_after = retry_after

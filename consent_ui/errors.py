"""One error page for everything that can go wrong, with the request id and never a trace.

| what happened                                   | status | page says                    |
| ----------------------------------------------- | ------ | ---------------------------- |
| the admin API did not answer                    | 503    | try again in a moment        |
| the admin API answered with an unexpected error | 502    | try again, or start over     |
| the challenge was already used or has expired   | 410    | "Start again" (its redirect_to) |
| the challenge is unknown or missing             | 400    | open the page from the app   |
| the CSRF token is missing or wrong              | 400    | reload; localhost vs 127.0.0.1 |
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from consent_ui.admin_api import (
    AdminApiError,
    AdminApiUnreachable,
    ChallengeGone,
    ChallengeNotFound,
)
from consent_ui.logs import printable, request_id

log = logging.getLogger(__name__)


class MissingChallenge(BadRequest):
    """The page was opened without its ``…_challenge`` query parameter."""

    def __init__(self, name: str):
        super().__init__(f"The {name} parameter is missing.")
        self.parameter = name


class MalformedChallenge(MissingChallenge):
    """The ``…_challenge`` holds what no challenge holds (control characters, non-ASCII)."""


def error_page(status: int, title: str, message: str, start_again: str = ""):
    page = render_template(
        "error.html",
        title=title,
        message=message,
        start_again=start_again if is_web_url(start_again) else "",
        request_id=request_id(),
    )
    return page, status


def is_web_url(value: str) -> bool:
    """Only http(s) links are shown or followed (never javascript:, data:, ...)."""
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def init_app(app: Flask) -> None:
    app.register_error_handler(AdminApiUnreachable, _unreachable)
    app.register_error_handler(AdminApiError, _api_error)
    app.register_error_handler(ChallengeGone, _gone)
    app.register_error_handler(ChallengeNotFound, _unknown_challenge)
    app.register_error_handler(MissingChallenge, _missing_challenge)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _unreachable(exc: AdminApiUnreachable):
    log.error("the admin API is unreachable (%s)", exc)
    return error_page(
        503,
        "The login service is not available",
        "We could not reach the authorization server. Please try again in a moment.",
    )


def _api_error(exc: AdminApiError):
    # Its description may quote the challenge, which came from the request.
    error, description = printable(exc.error), printable(exc.description)
    log.error("the admin API answered %s: %s %s", exc.status, error, description)
    return error_page(
        502,
        "Something went wrong",
        "The authorization server answered with an error. Please start again from the "
        "application you were signing in to.",
    )


def _gone(exc: ChallengeGone):
    return error_page(
        410,
        "This request has expired",
        "This page was already used, or it was open for too long.",
        start_again=exc.redirect_to,
    )


def _unknown_challenge(_exc: ChallengeNotFound):
    return error_page(
        400,
        "This link is not valid",
        "The authorization server does not know this request. Start again from the "
        "application you were signing in to.",
    )


def _missing_challenge(exc: MissingChallenge):
    if isinstance(exc, MalformedChallenge):
        return _unknown_challenge(exc)
    return error_page(
        400,
        "This page needs a challenge",
        f"The link is missing its {exc.parameter} parameter. Open this page through the "
        "application you want to use, not directly.",
    )


def _csrf_error(exc: CSRFError):
    log.warning("CSRF check failed: %s", exc.description)
    return error_page(
        400,
        "Your form could not be verified",
        f"{exc.description} Go back, reload the page and try again. This often happens when "
        "the page was opened on one host name and sent from another, for example "
        "localhost and 127.0.0.1: cookies are kept per host name, so use the same one "
        "everywhere. It also happens when the page was open for too long.",
    )


def _http_error(exc: HTTPException):
    status = exc.code or 500
    return error_page(status, exc.name, _PLAIN_MESSAGES.get(status, "Please start again."))


def _unexpected(exc: Exception):
    log.exception("unexpected error")
    return error_page(
        500, "Something went wrong", "An unexpected error occurred. Please try again."
    )


_PLAIN_MESSAGES = {
    400: "The request was not understood.",
    404: "There is no page at this address.",
    405: "This page cannot be used that way.",
    413: "The form was too large.",
}

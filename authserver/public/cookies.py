"""Cookies the public app sets: HttpOnly, SameSite=Lax (they must survive the top-level
redirects back from the login and consent apps), and Secure unless --dev."""

from __future__ import annotations

from flask import Response

from authserver.oauth2.login_consent import CookieChange


def apply_cookies(response: Response, changes: list[CookieChange], dev: bool) -> Response:
    for change in changes:
        if change.value is None:
            response.delete_cookie(
                change.name, path=change.path, secure=not dev, httponly=True, samesite="Lax"
            )
        else:
            response.set_cookie(
                change.name,
                change.value,
                max_age=change.max_age,
                path=change.path,
                secure=not dev,
                httponly=True,
                samesite="Lax",
            )
    return response

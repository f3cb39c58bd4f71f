"""Strict request-body readers shared by the views."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from authserver.web.errors import ApiError

FORM_TYPE = "application/x-www-form-urlencoded"


def require_form_post(repeatable: frozenset[str] = frozenset()) -> None:
    """RFC 6749 §3.2 / §4.1.3: parameters come form-encoded in the body, each at most once."""
    if request.mimetype != FORM_TYPE:
        raise ApiError(
            "invalid_request",
            f"The request body must be sent as {FORM_TYPE}.",
            400,
        )
    if request.args:
        raise ApiError(
            "invalid_request",
            "Parameters must be sent in the request body, not in the URL query.",
            400,
        )
    for key, values in request.form.lists():
        if len(values) > 1 and key not in repeatable:
            raise ApiError("invalid_request", f"Parameter '{key}' was sent more than once.", 400)


def read_json(expected: type | tuple[type, ...] = dict) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError("invalid_request", "The request body is empty; send a JSON document.", 400)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            "invalid_request",
            f"The request body is not valid JSON ({exc.__class__.__name__}).",
            400,
        ) from None
    if not isinstance(document, expected):
        kind = "object" if expected is dict else "array"
        raise ApiError("invalid_request", f"The request body must be a JSON {kind}.", 400)
    return document

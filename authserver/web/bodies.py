"""Strict request-body readers shared by the views."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import request

from authserver.domain.text import text_problem
from authserver.web.errors import ApiError

FORM_TYPE = "application/x-www-form-urlencoded"
# Hydra's documents nest a few levels (a client's metadata, a consent's session claims).
MAX_JSON_DEPTH = 32


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
        document = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError("invalid_request", "The JSON document is nested too deeply.", 400) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            "invalid_request",
            f"The request body is not valid JSON ({exc.__class__.__name__}).",
            400,
        ) from None
    problem = json_problem(document)
    if problem:
        raise ApiError("invalid_request", problem, 400)
    if not isinstance(document, expected):
        kind = "object" if expected is dict else "array"
        raise ApiError("invalid_request", f"The request body must be a JSON {kind}.", 400)
    return document


def json_problem(document: Any) -> str | None:
    """What no stored document may hold: deep nesting, NUL, lone surrogates. Iterative,
    so a deep document cannot exhaust the stack here either."""
    pending = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return f"The JSON document is nested more than {MAX_JSON_DEPTH} levels deep."
        if isinstance(value, str):
            strings = (value,)
        elif isinstance(value, dict):
            strings = value.keys()
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            strings = ()
            pending.extend((item, depth + 1) for item in value)
        else:
            continue
        for text in strings:
            problem = text_problem(text)
            if problem:
                return problem
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("the number is out of range")
    return number

"""What each scope means, in words the person on the consent page understands.

Add your own scopes here. A scope not listed gets a careful generic sentence.
"""

from __future__ import annotations

_OFFLINE = "Keep access when you are not using it, without asking you to log in again."

EXPLANATIONS = {
    "openid": "Confirm who you are: your account's identifier.",
    "profile": "See your name and basic profile information.",
    "email": "See your email address and whether it is verified.",
    "offline_access": _OFFLINE,
    "offline": _OFFLINE,
}


def explain(scope: str) -> str:
    return EXPLANATIONS.get(
        scope, f"A permission this application calls “{scope}”. Allow it only if you trust it."
    )

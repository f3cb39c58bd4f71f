"""Load the user store named by ``CONSENT_UI_USER_STORE`` (or ``consent-ui --user-store``).

The value is ``package.module:factory``, as in ``consent_ui.sqlite_users:from_env``. The
factory is called with no arguments (a class is a factory too) and returns an object with
the three methods of ``users.UserStore``; it reads its own settings from the environment.
Anything wrong (no colon, a module that does not import, a missing or failing factory, an
object without the methods) is a ``ConfigError`` with one line that says what, at start-up.
"""

from __future__ import annotations

import importlib
import os
import sys

from consent_ui.config import ConfigError
from consent_ui.users import UserStore

NAME = "CONSENT_UI_USER_STORE"
METHODS = ("authenticate", "get", "claims")


def load_user_store(spec: str) -> UserStore:
    module_name, attribute = _split(spec)
    factory = _attribute(_module(module_name), module_name, attribute)
    store = _call(factory, spec)
    missing = [name for name in METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise ConfigError(
            f"{NAME}: {spec} returned a {type(store).__name__}, which has no "
            f"{', '.join(missing)} method (see consent_ui/users.py, UserStore)"
        )
    return store


def _split(spec: str) -> tuple[str, str]:
    module_name, colon, attribute = spec.strip().partition(":")
    if not (colon and module_name and attribute and spec.isprintable()):
        raise ConfigError(f"{NAME} must look like package.module:factory, got {spec!r}")
    return module_name, attribute


def _module(name: str):
    # Like gunicorn: a module in the directory the command runs in can be named too.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"{NAME}: cannot import {name!r} ({_one_line(exc)})") from None
    except Exception as exc:  # the module itself failed while importing
        raise ConfigError(f"{NAME}: importing {name!r} failed: {_described(exc)}") from None


def _attribute(module, module_name: str, attribute: str):
    found = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ConfigError(f"{NAME}: module {module_name!r} has no {attribute!r}")
    if not callable(found):
        raise ConfigError(f"{NAME}: {module_name}:{attribute} is not callable")
    return found


def _call(factory, spec: str):
    try:
        return factory()
    except (ConfigError, ValueError, OSError) as exc:  # the factory's own clear message
        raise ConfigError(f"{NAME}: {spec} failed: {_one_line(exc)}") from None
    except Exception as exc:
        raise ConfigError(f"{NAME}: {spec} failed: {_described(exc)}") from None


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__

"""WSGI entry points for running authserver under another WSGI server.

``public_app()`` and ``admin_app()`` are factories: each reads the configuration the way
``authserver serve`` does (environment variables, plus the YAML file named by
``AUTHSERVER_CONFIG`` if set; ``AUTHSERVER_DEV=1`` is ``--dev``) and builds the app with
its own services. Run ``authserver migrate sql`` first: a factory refuses a database
whose schema is not current. Used by ``serve --server granian``; also, for example::

    granian --interface wsgi --factory authserver.wsgi:public_app --port 4444
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import cache

from authserver.config import load_settings
from authserver.services import Services
from authserver.web.logs import configure_logging

CONFIG_ENV = "AUTHSERVER_CONFIG"
DEV_ENV = "AUTHSERVER_DEV"
POOL_SIZE_ENV = "AUTHSERVER_DB_POOL_SIZE"  # set by `serve --server granian` (serve.plan_pool)


@cache
def _services() -> Services:
    """One Services per process, shared by both apps if a process serves both."""
    from authserver.serve import prepare, return_large_blocks_to_the_system

    return_large_blocks_to_the_system()
    settings = load_settings(
        config_file=os.environ.get(CONFIG_ENV) or None,
        dev=os.environ.get(DEV_ENV, "") in ("1", "true", "yes"),
    )
    if os.environ.get(POOL_SIZE_ENV, "").isdigit():
        settings = replace(settings, database_pool_size=int(os.environ[POOL_SIZE_ENV]))
    configure_logging(settings.log_level, settings.log_format)
    return prepare(settings)


def public_app():
    from authserver.public.app import create_public_app

    return create_public_app(_services())


def admin_app():
    from authserver.admin.app import create_admin_app

    return create_admin_app(_services())

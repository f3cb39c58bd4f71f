"""WSGI entry points for running authserver under another WSGI server, for example::

    granian --interface wsgi --factory authserver.wsgi:public_app --port 4444

``public_app()`` and ``admin_app()`` are factories: each reads the configuration the way
``authserver serve`` does (environment variables, plus the YAML file named by
``AUTHSERVER_CONFIG`` if set; ``AUTHSERVER_DEV=1`` is ``--dev``) and builds the app with
its own services. Run ``authserver migrate sql`` first: a factory refuses a database
whose schema is not current. They live in ``authserver.runtime.wsgi``, which
``serve --server granian`` uses; this module is their documented, stable name.
"""

from authserver.runtime.wsgi import admin_app, public_app

__all__ = ["admin_app", "public_app"]

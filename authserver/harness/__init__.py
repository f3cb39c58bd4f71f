"""``authserver harness``: the real server with a scriptable login for tests.

Everything here exists only in harness mode: ``authserver serve`` registers none of it.
``server`` starts the public and admin APIs on an in-memory database (or a given DSN)
with the built-in login/consent app (``login_app``) and the test helpers on the admin
port (``admin_api``): scripted decisions, minted tokens, a request log, a movable clock,
users at run time and a reset. ``authserver.testing`` is the pytest plugin over it.
"""

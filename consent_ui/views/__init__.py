"""One blueprint per step of the flow: ``login``, ``consent``, ``logout`` (GET + POST each);
``apps`` to see and forget what the user allowed; ``index`` (``/``), ``favicon``, and
``health`` for the container's liveness probe."""

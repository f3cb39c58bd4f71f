"""One blueprint per step of the flow: ``login``, ``consent``, ``logout`` (GET + POST each),
and ``health`` for the container's liveness probe."""

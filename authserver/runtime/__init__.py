"""Starting and running the servers: everything ``authserver serve`` does after parsing
its command line. A module here imports only the modules above it in this list:

* ``boot``: build the services, wait for the database, size the connection pool, check
  the schema, make the signing keys; tune malloc; warn about an exposed admin API.
* ``sockets``: bind the API ports (``Listener``).
* ``processes``: child processes: stop them, end with the parent.
* ``waitress_server``: the APIs on waitress, in this process (the default).
* ``supervisor``: ``--workers N``: N waitress processes on the same ports.
* ``wsgi``: the WSGI app factories Granian (or any WSGI server) loads by name.
* ``granian_server``: ``--server granian``: one Granian server per API.

``authserver.serve`` chooses among the servers; ``authserver.wsgi`` is the documented
name of the WSGI factories.
"""

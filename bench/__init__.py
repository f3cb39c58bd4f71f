"""``python -m bench``: start authserver on a fresh database, seed it, and measure it.

Not part of the test suite. See ``bench/README.md`` for how to run it and read its figures.
"""

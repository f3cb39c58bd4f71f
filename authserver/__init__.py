"""authserver: a headless OAuth 2.0 and OpenID Connect server in the style of Ory Hydra."""

__version__ = "0.1.0"

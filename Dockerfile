# One image for the whole stack: authserver, consent-ui and demo-client (the compose file
# picks the command). Multi-stage: the build stage installs into a venv; the final image
# gets the venv only, no pip cache, no build tools, and runs as a non-root user.
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY authserver ./authserver
COPY consent_ui ./consent_ui
COPY demo_client ./demo_client
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install . \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SERVE_PUBLIC_HOST=0.0.0.0 \
    SERVE_ADMIN_HOST=0.0.0.0 \
    HOST=0.0.0.0
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
USER app
WORKDIR /home/app
EXPOSE 4444 4445 3000 4446
# The default command's liveness; docker-compose.yml gives each service its own check.
ENV HEALTHCHECK_URL=http://127.0.0.1:4445/health/alive
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD ["authserver-healthcheck"]
CMD ["authserver", "serve", "all"]

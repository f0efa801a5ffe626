# One image for every application service: web (gunicorn), worker and beat (Celery), and migrate.
# Build with `docker compose build`; secrets come from the environment at run time, never from the image.

# The web pages' CSS and scripts (GOV.UK Frontend, bpmn-js) are built from npm packages in a throwaway stage;
# only the built files reach the image, so it holds no Node.js and no node_modules.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY app/web/assets/ app/web/assets/
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A system user with no login shell runs everything; it owns only instance/ (the app creates it at start).
RUN groupadd --system mace \
    && useradd --system --gid mace --home-dir /app --no-create-home --shell /usr/sbin/nologin mace

# WeasyPrint (subject access PDFs) draws text with Pango, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

# Runtime dependencies only (not requirements-dev.txt), in their own layer so code changes rebuild fast.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml ./
COPY app/ app/
COPY --from=assets /build/app/web/static/build/ app/web/static/build/
COPY processes/ processes/
COPY workers/ workers/
COPY migrations/ migrations/
COPY bpmn/ bpmn/
COPY forms/ forms/

RUN mkdir -p instance && chown mace:mace instance

USER mace

EXPOSE 8000

# docker-compose.yml gives each service its own command; this default serves the web app.
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8000", "app:create_app()"]

# The production image: gunicorn for web, the same image runs the Celery worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY coachhub coachhub
COPY engagements engagements
COPY chat chat
COPY billing billing
COPY sessions_app sessions_app
COPY caring caring
COPY integrations integrations
COPY web web
RUN pip install .
COPY . .
# collectstatic needs no database and no secrets: coachhub/settings/build.py is production's
# static-file set-up without them (the image runs with coachhub.settings, which still
# refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEYS). .dockerignore keeps any
# .env out of COPY . ., so no secret is baked into the image.
RUN DJANGO_ENV=production DJANGO_SETTINGS_MODULE=coachhub.settings.build \
    python manage.py collectstatic --noinput
RUN useradd --create-home coachhub
USER coachhub
EXPOSE 8000
# Each access line names its request (X-Request-ID), as the app's own log lines do.
CMD ["gunicorn", "coachhub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(b)s %(M)sms request=%({x-request-id}o)s"]

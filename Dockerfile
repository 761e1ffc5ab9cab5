# The production image: gunicorn for web, the same image runs the Celery worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY coachhub coachhub
COPY engagements engagements
COPY billing billing
COPY sessions_app sessions_app
COPY integrations integrations
COPY web web
RUN pip install .
COPY . .
# collectstatic needs settings but no database or secrets of its own: the key and the
# Fernet key here exist only for this build step and are never used at run time.
RUN DJANGO_ENV=production SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    FIELD_ENCRYPTION_KEYS=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
    python manage.py collectstatic --noinput
RUN useradd --create-home coachhub
USER coachhub
EXPOSE 8000
CMD ["gunicorn", "coachhub.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

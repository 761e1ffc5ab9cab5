# The two set-up commands are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

.PHONY: install run serve test lint format worker beat demo migrate stripe-standin slack-standin clean \
	benchmark benchmark-slots benchmark-webhooks benchmark-worker benchmark-slack run-slack

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) demo

## The app on its embedded default (SQLite, in-process tasks, console e-mail) with demo data.
## `make run PORT=8010` serves on another port, and e-mailed links (SITE_URL) follow it
## unless SITE_URL is set; a busy port is reported before anything starts.
PORT ?= 8000
run: install
	@site_url="$$($(BIN)/python -m devtools.devserver $(PORT))" && \
	  SITE_URL="$$site_url" $(MAKE) --no-print-directory serve PORT=$(PORT)

## What `make run` starts once the port is known to be free.
serve: demo
	DJANGO_DEBUG=true $(MANAGE) runserver 127.0.0.1:$(PORT)

## The whole test suite (against PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Real background workers; need REDIS_URL.
worker: install
	$(BIN)/celery -A coachhub worker --loglevel=info

beat: install
	$(BIN)/celery -A coachhub beat --loglevel=info

## The local Stripe stand-in (API + hosted checkout + dashboard) on 127.0.0.1:12111.
stripe-standin: install
	$(BIN)/python -m devtools.stripe_standin

## The local Slack stand-in (Web API, OAuth install, signed events, workspace page) on
## 127.0.0.1:12112; the app reaches it with SLACK_API_BASE=http://127.0.0.1:12112/api/.
slack-standin: install
	$(BIN)/python -m devtools.slack_standin

## `make run` pointed at the Slack stand-in, as the operator's app with the stand-in's
## default credentials (README "Trying Slack here"); its events come to :8000/slack/events/.
run-slack:
	SLACK_API_BASE=http://127.0.0.1:12112/api/ SLACK_CLIENT_ID=1111111111.2222222222 \
	  SLACK_CLIENT_SECRET=standin-client-secret SLACK_SIGNING_SECRET=standin-signing-secret \
	  $(MAKE) --no-print-directory run

## Benchmarks (PostgreSQL + Redis on 127.0.0.1, gunicorn on loopback); see README "Benchmarks".
benchmark: benchmark-slots benchmark-webhooks benchmark-worker benchmark-slack

benchmark-slots: install
	$(BIN)/python -m benchmarks.slots

benchmark-webhooks: install
	$(BIN)/python -m benchmarks.webhook_ingestion

benchmark-worker: install
	$(BIN)/python -m benchmarks.event_worker

benchmark-slack: install
	$(BIN)/python -m benchmarks.slack_invites

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

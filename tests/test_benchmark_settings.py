"""The benchmarks' settings build on the app's own: a change to how settings pick their
flavour must not leave `make benchmark` with none (it is not run by the suite)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_benchmark_settings_load_the_apps_settings_and_their_own():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    environment.pop("DJANGO_ENV", None)
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print('benchmarks' in settings.INSTALLED_APPS, settings.ROOT_URLCONF)",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", "benchmarks.urls"]

"""`devtools/` (the Stripe and Slack stand-ins) is for development only: it imports nothing from the
product, the product imports nothing from it, and neither the wheel nor the image gets it."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = (
    "coachhub",
    "engagements",
    "chat",
    "billing",
    "sessions_app",
    "caring",
    "integrations",
    "web",
)
DEV_ONLY = ("devtools", "tests", "benchmarks")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, *(node.module or "").split(".")]).rstrip("."))
            else:
                found.add(node.module or "")
    return found


def test_devtools_imports_nothing_from_the_product():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in PRODUCT
        )
        for path in (ROOT / "devtools").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_imports_nothing_that_is_not_shipped(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in DEV_ONLY
        )
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_wheel_and_the_image_leave_the_development_tools_out():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    for name in DEV_ONLY:
        for sub in (name, f"{name}.stripe_standin", f"{name}.slack_standin"):
            assert not any(fnmatch.fnmatch(sub, pattern) for pattern in include), (sub, include)
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert set(DEV_ONLY) <= ignored


def test_the_stand_in_writes_amounts_as_the_product_does():
    """Its own copy of the formatter (it may not import the product's) agrees with it."""
    from coachhub.money import money_shown as product
    from devtools.stripe_standin import money_shown as standin

    for minor, currency in [
        (125000, "gbp"),
        (5000, "jpy"),
        (1234, "KWD"),
        (-4500, "eur"),
        (0, "usd"),
    ]:
        assert standin(minor, currency) == product(minor, currency)

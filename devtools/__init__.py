"""Development-only tools (the local Stripe stand-in). Never shipped: not in the wheel
(`pyproject.toml` packages) nor in the image (`.dockerignore`), and nothing in the product
imports it."""

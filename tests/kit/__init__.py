"""The shared test kit: helpers that test modules import (fixtures stay in conftest.py)."""

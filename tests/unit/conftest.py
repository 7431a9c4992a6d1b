"""Unit-tier fixtures: SQLite files only, never a broker or PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_backend() -> str:
    """The top-level fixture runs on SQLite and PostgreSQL; the unit tier on SQLite only."""
    return "sqlite"

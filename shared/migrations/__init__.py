"""Alembic migrations: one history per database, each built from version folders.

A service database applies the `platform` branch (outbox, processed events, dead
letters) and its own branch; the auth database applies the `auth` branch.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _config(url: str, version_dirs: list[Path]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", " ".join(str(d) for d in version_dirs))
    config.set_main_option("version_path_separator", "space")
    config.set_main_option("path_separator", "space")
    config.attributes["url"] = url
    return config


def service_version_dirs(service: str) -> list[Path]:
    return [HERE / "platform", ROOT / "services" / service / "migrations"]


def upgrade_service(service: str, url: str) -> None:
    command.upgrade(_config(url, service_version_dirs(service)), "heads")


def upgrade_auth(url: str) -> None:
    command.upgrade(_config(url, [HERE / "auth"]), "heads")

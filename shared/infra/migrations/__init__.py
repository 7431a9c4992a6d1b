"""Alembic migrations: one history per database, each built from version folders.

A service database applies the `platform` branch (outbox, processed events, dead
letters) and its own branch; the auth database applies the `auth` branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent
# The checkout or installed tree that holds services/ (however deep this package sits in shared/).
ROOT = next(parent for parent in HERE.parents if (parent / "services").is_dir())


def _config(url: str, version_dirs: list[Path], data_keys: Sequence[str] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", " ".join(str(d) for d in version_dirs))
    config.set_main_option("version_path_separator", "space")
    config.set_main_option("path_separator", "space")
    config.attributes["url"] = url
    # A migration that converts stored values with a data key (intake_0004) reads them here,
    # or from DATA_ENCRYPTION_KEYS in the environment.
    config.attributes["data_encryption_keys"] = tuple(data_keys)
    return config


def service_version_dirs(service: str) -> list[Path]:
    return [HERE / "platform", ROOT / "services" / service / "migrations"]


def upgrade_service(service: str, url: str, data_keys: Sequence[str] = ()) -> None:
    command.upgrade(_config(url, service_version_dirs(service), data_keys), "heads")


def upgrade_auth(url: str) -> None:
    command.upgrade(_config(url, [HERE / "auth"]), "heads")

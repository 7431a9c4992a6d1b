"""`make run`'s machine-local secrets in var/dev.env."""

from __future__ import annotations

from shared import devrun


def test_a_metrics_token_is_made_once_and_kept_beside_the_other_secrets(tmp_path):
    first = devrun.dev_secrets(tmp_path)
    again = devrun.dev_secrets(tmp_path)

    assert {"DATA_ENCRYPTION_KEYS", "LINK_SIGNING_SECRET", "METRICS_TOKEN"} <= set(first)
    assert len(first["METRICS_TOKEN"]) >= 32
    assert again == first
    assert (tmp_path / "dev.env").stat().st_mode & 0o777 == 0o600


def test_a_token_already_in_dev_env_is_kept(tmp_path):
    (tmp_path / "dev.env").write_text("METRICS_TOKEN=chosen-by-the-developer\n")

    assert devrun.dev_secrets(tmp_path)["METRICS_TOKEN"] == "chosen-by-the-developer"

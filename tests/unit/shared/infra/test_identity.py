"""Each council's identity provider: which groups give which role, and how it is kept."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ops import cli
from shared.infra.auth import UnknownTenant
from shared.infra.identity import (
    IdentityProvider,
    IdentityProviders,
    display_name,
    identity_providers,
    issuer_problem,
    role_for,
)
from shared.rules.constants import ROLE_ADMIN, ROLE_BOARD, ROLE_STAFF

SECRET = "client-secret-never-stored-plain"


def provider(tenant: str = "wiltshire", **changes) -> IdentityProvider:
    values = {
        "tenant": tenant,
        "issuer": "https://login.example.gov.uk",
        "client_id": "outcomes",
        "client_secret": SECRET,
        "staff_groups": ("Adult Social Care Officers",),
        "board_groups": ("Care Board",),
        "admin_groups": ("Outcomes Admins",),
    }
    return IdentityProvider(**(values | changes))


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["Adult Social Care Officers"], ROLE_STAFF),
        (["Care Board"], ROLE_BOARD),
        (["Care Board", "Adult Social Care Officers"], ROLE_STAFF),  # staff may open the board's pages too
        (["Outcomes Admins", "Care Board"], ROLE_ADMIN),
        (["Highways"], None),
        ([], None),
    ],
)
def test_the_role_comes_from_the_groups_in_the_claim(groups, role):
    assert role_for({"sub": "x", "groups": groups}, provider()) == role


def test_no_group_claim_gives_no_role():
    assert role_for({"sub": "x"}, provider()) is None


def test_the_claim_may_be_named_and_hold_space_separated_roles():
    roles_claim = provider(role_claim="roles", staff_groups=("outcomes.staff",))
    assert role_for({"roles": "reader outcomes.staff"}, roles_claim) == ROLE_STAFF
    assert role_for({"groups": ["outcomes.staff"]}, roles_claim) is None


def test_another_councils_groups_give_nothing():
    dorset = provider("dorset", staff_groups=("dorset-staff",), board_groups=(), admin_groups=())
    assert role_for({"groups": ["Adult Social Care Officers"]}, dorset) is None


def test_a_person_is_called_by_their_name_else_their_email():
    assert display_name({"sub": "1", "name": " Ffion Evans ", "email": "f@x"}) == "Ffion Evans"
    assert display_name({"sub": "1", "email": "ffion@example.gov.uk"}) == "ffion@example.gov.uk"


@pytest.mark.parametrize(
    ("issuer", "production", "refused"),
    [
        ("https://login.microsoftonline.com/tenant-id/v2.0", True, False),
        ("http://127.0.0.1:9000", False, False),
        ("http://login.example.gov.uk", True, True),
        ("login.example.gov.uk", False, True),
        ("https://login.example.gov.uk/?tenant=1", True, True),
    ],
)
def test_production_takes_only_an_https_issuer(issuer, production, refused):
    assert (issuer_problem(issuer, production=production) is not None) is refused


def test_the_client_secret_is_sealed_at_rest(platforms, wiltshire):
    store = platforms["intake"].identity
    assert store.set(provider()) is True

    with store.engine.connect() as connection:
        [row] = connection.execute(sa.select(identity_providers)).mappings().all()
    assert SECRET not in json.dumps(dict(row), default=str)
    assert store.get("wiltshire").client_secret == SECRET
    assert store.configured() == {"wiltshire": "Wiltshire Council"}


def test_setting_again_updates_and_removing_brings_keys_back(platforms, wiltshire):
    store = platforms["intake"].identity
    store.set(provider())

    assert store.set(provider(client_id="renamed")) is False
    assert store.get("wiltshire").client_id == "renamed"
    assert store.remove("wiltshire") is True
    assert store.get("wiltshire") is None and store.configured() == {}


def test_an_unknown_council_cannot_have_a_provider(platforms):
    with pytest.raises(UnknownTenant):
        IdentityProviders(platforms["intake"].keys.engine, platforms["intake"].sealer).set(provider("nowhere"))


class TestCommand:
    def args(self, tmp_path, tenant: str, issuer: str) -> list[str]:
        secret = tmp_path / "secret"
        secret.write_text(SECRET + "\n")
        return [
            "identity-provider", "set", "--tenant", tenant, "--issuer", issuer, "--client-id", "outcomes",
            "--client-secret-file", str(secret), "--staff-group", "staff", "--board-group", "board",
        ]  # fmt: skip

    def test_an_operator_sets_a_provider_and_sees_it_without_the_secret(self, tmp_path, council, capsys):
        assert cli.main(self.args(tmp_path, council.slug, "https://login.example.gov.uk")) == 0
        assert cli.main(["identity-provider", "show", "--tenant", council.slug]) == 0

        shown = capsys.readouterr().out.splitlines()[-1]
        assert json.loads(shown)["staff_groups"] == ["staff"]
        assert SECRET not in shown

    def test_production_refuses_a_plain_http_issuer(self, tmp_path, council, capsys, monkeypatch):
        monkeypatch.setenv("OUTCOMES_ENV", "production")
        assert cli.main(self.args(tmp_path, council.slug, "http://login.example.gov.uk")) == 2
        assert "https" in capsys.readouterr().err

    def test_development_takes_a_local_provider(self, tmp_path, council):
        assert cli.main(self.args(tmp_path, council.slug, "http://127.0.0.1:9000")) == 0

    def test_an_unknown_council_is_named(self, tmp_path, intake, capsys):
        assert cli.main(self.args(tmp_path, "nowhere", "https://login.example.gov.uk")) == 2
        assert "no tenant 'nowhere'" in capsys.readouterr().err

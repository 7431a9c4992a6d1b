"""Tenants and API keys: one key, one tenant, one role; only a hash is stored."""

from __future__ import annotations

import hmac
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shared.infra import db, migrations
from shared.infra.auth import KeyStore, Principal, UnknownKey, UnknownSource, UnknownTenant, api_keys
from shared.rules.constants import ROLE_STAFF, ROLES


@pytest.fixture
def keystore(tmp_path):
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    migrations.upgrade_auth(url)
    engine = db.create_engine(url)
    store = KeyStore(engine)
    store.create_tenant("wiltshire", "Wiltshire Council")
    yield store
    engine.dispose()


def tampered(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


class TestAuthenticate:
    def test_every_secret_is_checked_in_constant_time_known_key_or_not(self, keystore, monkeypatch):
        """A wrong secret, or an unknown key id, takes the same digest comparison as a right one."""
        compared = []

        def spy(a, b):
            compared.append((len(a), len(b)))
            return hmac.compare_digest(a, b)

        monkeypatch.setattr("shared.infra.auth.hmac", SimpleNamespace(compare_digest=spy))
        _, key = keystore.create_key("wiltshire", ROLE_STAFF)

        assert keystore.authenticate(key) is not None
        assert keystore.authenticate(tampered(key)) is None
        assert keystore.authenticate(f"oc_0123456789abcdef_{key.split('_')[-1]}") is None

        assert compared == [(64, 64)] * 3

    @pytest.mark.parametrize("role", ROLES)
    def test_a_new_key_authenticates_as_its_tenant_and_role(self, keystore, role):
        key_id, key = keystore.create_key("wiltshire", role)

        assert keystore.authenticate(key) == Principal(key_id=key_id, tenant="wiltshire", role=role)

    def test_keys_of_two_tenants_each_belong_to_their_own(self, keystore):
        keystore.create_tenant("dorset")
        _, wiltshire_key = keystore.create_key("wiltshire", ROLE_STAFF)
        _, dorset_key = keystore.create_key("dorset", ROLE_STAFF)

        assert keystore.authenticate(wiltshire_key).tenant == "wiltshire"
        assert keystore.authenticate(dorset_key).tenant == "dorset"

    def test_a_tampered_secret_fails(self, keystore):
        _, key = keystore.create_key("wiltshire", ROLE_STAFF)

        assert keystore.authenticate(tampered(key)) is None

    def test_a_real_secret_under_another_key_id_fails(self, keystore):
        _, first = keystore.create_key("wiltshire", ROLE_STAFF)
        second_id, _ = keystore.create_key("wiltshire", ROLE_STAFF)
        secret = first.split("_", 2)[2]

        assert keystore.authenticate(f"oc_{second_id}_{secret}") is None

    def test_an_unknown_key_id_fails(self, keystore):
        _, key = keystore.create_key("wiltshire", ROLE_STAFF)
        secret = key.split("_", 2)[2]

        assert keystore.authenticate(f"oc_0123456789abcdef_{secret}") is None

    @pytest.mark.parametrize(
        "presented",
        ["", "oc_", "oc_0123456789abcdef", "oc__secret", "xx_0123456789abcdef_secret", "oc_id_" + "s" * 300],
    )
    def test_a_malformed_token_fails(self, keystore, presented):
        assert keystore.authenticate(presented) is None

    def test_a_revoked_key_fails_at_once(self, keystore):
        key_id, key = keystore.create_key("wiltshire", ROLE_STAFF)
        assert keystore.authenticate(key) is not None

        keystore.revoke(key_id)

        assert keystore.authenticate(key) is None


class TestStorage:
    def test_only_a_hash_of_the_secret_is_stored(self, keystore):
        key_id, key = keystore.create_key("wiltshire", ROLE_STAFF, label="case system")
        secret = key.split("_", 2)[2]

        with keystore.engine.connect() as connection:
            [row] = connection.execute(sa.select(api_keys)).all()

        stored = " ".join(str(value) for value in row)
        assert key_id in stored
        assert secret not in stored
        assert key not in stored

    def test_listing_keys_shows_no_secret_or_hash(self, keystore):
        keystore.create_key("wiltshire", ROLE_STAFF, label="reception")

        [listed] = keystore.list_keys("wiltshire")

        assert set(listed) == {"id", "role", "label", "created_at", "revoked_at"}


class TestRefusals:
    def test_revoking_an_unknown_key_id(self, keystore):
        with pytest.raises(UnknownKey):
            keystore.revoke("0123456789abcdef")

    def test_revoking_twice_is_harmless(self, keystore):
        key_id, _ = keystore.create_key("wiltshire", ROLE_STAFF)
        keystore.revoke(key_id)

        keystore.revoke(key_id)

        assert keystore.list_keys("wiltshire")[0]["revoked_at"] is not None

    def test_a_key_for_an_unknown_tenant(self, keystore):
        with pytest.raises(UnknownTenant):
            keystore.create_key("atlantis", ROLE_STAFF)

    def test_an_invalid_role(self, keystore):
        with pytest.raises(ValueError) as caught:
            keystore.create_key("wiltshire", "superuser")

        assert all(role in str(caught.value) for role in ROLES)


class TestTenants:
    def test_creating_a_tenant_twice_creates_it_once(self, keystore):
        assert keystore.create_tenant("dorset") is True
        assert keystore.create_tenant("dorset") is False
        assert keystore.list_tenants() == ["dorset", "wiltshire"]

    def test_a_tenant_created_after_a_failed_lookup_is_seen_at_once(self, keystore):
        assert keystore.tenant_exists("kent") is False

        keystore.create_tenant("kent")

        assert keystore.tenant_exists("kent") is True


class TestCaseSystemSources:
    MOSAIC = "https://mosaic.wiltshire.example.gov.uk/adults"

    def test_a_registered_source_is_the_tenants_alone(self, keystore):
        keystore.create_tenant("dorset")

        registered, created = keystore.add_source("wiltshire", self.MOSAIC)

        assert created is True
        assert keystore.source_registered("wiltshire", self.MOSAIC)
        assert not keystore.source_registered("dorset", self.MOSAIC)
        assert [s["source"] for s in keystore.list_sources("wiltshire")] == [self.MOSAIC]
        assert keystore.list_sources("dorset") == []
        assert keystore.get_source("wiltshire", registered["id"])["source"] == self.MOSAIC
        with pytest.raises(UnknownSource):
            keystore.get_source("dorset", registered["id"])

    def test_registering_again_keeps_one_registration(self, keystore):
        first, _ = keystore.add_source("wiltshire", self.MOSAIC)

        again, created = keystore.add_source("wiltshire", self.MOSAIC)

        assert (created, again["id"]) == (False, first["id"])
        assert len(keystore.list_sources("wiltshire")) == 1

    @pytest.mark.parametrize("uri", ["", "urn:has space", "urn:tab\there", "https://example.org/é", "u" * 1025])
    def test_a_source_that_is_not_a_uri_is_refused(self, keystore, uri):
        with pytest.raises(ValueError):
            keystore.add_source("wiltshire", uri)
        assert keystore.list_sources("wiltshire") == []

    def test_an_unknown_tenant_registers_nothing(self, keystore):
        with pytest.raises(UnknownTenant):
            keystore.add_source("atlantis", self.MOSAIC)

    def test_a_removed_source_is_refused_by_this_store_at_once(self, keystore):
        keystore.add_source("wiltshire", self.MOSAIC)
        assert keystore.source_registered("wiltshire", self.MOSAIC)  # now cached

        keystore.remove_source("wiltshire", uri=self.MOSAIC)

        assert not keystore.source_registered("wiltshire", self.MOSAIC)
        with pytest.raises(UnknownSource):
            keystore.remove_source("wiltshire", uri=self.MOSAIC)

"""The kit's plain parts: configuration, errors across RPC, envelopes, personal data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields
from nameko.exceptions import deserialize, serialize
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from services.registry.id_numbers import canonical_id_number, id_check_digit, id_number_valid, mask_id_number
from yilin.config import database_url, load_config, metrics_port, substitute_env
from yilin.errors import Conflict, InvalidInput, NotFound, YilinError, load
from yilin.events import EventCatalogue, parse_envelope
from yilin.identity import identity_context, service_account
from yilin.pii import PersonalData, mask_phone


def test_env_substitution_with_defaults_and_required() -> None:
    text = "a: ${A:1}\nb: ${B:x:y}\nc: ${C}"
    assert substitute_env(text, {"C": "z"}) == "a: 1\nb: x:y\nc: z"
    assert substitute_env(text, {"A": "9", "C": "z"}).startswith("a: 9")
    with pytest.raises(KeyError, match="C is required"):
        substitute_env(text, {})


def test_shipped_config_and_per_service_settings(tmp_path: Any) -> None:
    config = load_config(environ={"YILIN_AMQP_URI": "pyamqp://u:p@h:1/v"})
    assert config["AMQP_URI"] == "pyamqp://u:p@h:1/v" and config["max_workers"] == 10
    assert database_url(config, "hours", environ={}) == "sqlite:///var/hours.db"
    config["DATABASE_URL"] = "postgresql://db/yilin_{service}"
    assert database_url(config, "fund", environ={}) == "postgresql://db/yilin_fund"
    assert database_url(config, "fund", environ={"YILIN_FUND_DATABASE_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert metrics_port(config, "tickets", 9102, environ={}) == 9102
    assert metrics_port(config, "tickets", 9102, environ={"YILIN_METRICS_PORT_OFFSET": "100"}) == 9202
    assert metrics_port(config, "tickets", 9102, environ={"YILIN_METRICS_PORT": "0"}) == 0


class Payload(Schema):
    count = fields.Integer(required=True)


def test_load_names_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        load(Payload(), {"count": "many", "extra": 1})
    assert set(caught.value.fields) == {"count", "extra"} and caught.value.status == 422
    with pytest.raises(InvalidInput):
        load(Payload(), ["not", "an", "object"])


@pytest.mark.parametrize(
    "error", [NotFound("gone", {"id": ["not found"]}), Conflict("dup"), InvalidInput("bad", {"x": ["y"]})]
)
def test_errors_survive_nameko_serialisation_as_their_own_type(error: YilinError) -> None:
    back = deserialize(serialize(error))
    assert type(back) is type(error) and back.fields == error.fields and back.status == error.status


class Failing:
    name = "failing"

    @rpc
    def fail(self) -> None:
        raise NotFound("no such ticket", {"ticket_id": ["not found"]})


def test_errors_cross_real_rpc_as_their_own_type(make_config: Any, container_factory: Any, tmp_path: Any) -> None:
    config = make_config(f"sqlite:///{tmp_path}/x.db")
    container_factory(Failing, config).start()
    with ServiceRpcProxy(
        "failing", config, context_data=identity_context(config, service_account("test"), "test")
    ) as failing:
        with pytest.raises(NotFound) as caught:
            failing.fail()
    assert caught.value.fields == {"ticket_id": ["not found"]}
    assert caught.value.to_body() == {
        "error": "not_found",
        "message": "no such ticket",
        "fields": {"ticket_id": ["not found"]},
    }


def test_catalogue_validates_payloads_and_envelopes_round_trip() -> None:
    catalogue = EventCatalogue("demo")

    @catalogue.define("thing.done")
    class ThingDone(Schema):
        thing_id = fields.String(required=True)
        minutes = fields.Integer(required=True)

    @catalogue.define("thing.done", version=2)
    class ThingDoneV2(ThingDone):
        note = fields.String(required=True)

    with pytest.raises(ValueError):
        catalogue.define("thing.done")(ThingDone)
    assert catalogue.get("thing.done").version == 2
    envelope = catalogue.envelope("thing.done", {"thing_id": "t", "minutes": 5}, "corr", version=1)
    parsed = parse_envelope(envelope.to_message())
    assert parsed == envelope
    with pytest.raises(ValueError, match="payload invalid"):
        catalogue.envelope("thing.done", {"thing_id": "t", "minutes": "five"}, None, version=1)
    with pytest.raises(ValueError, match="thing_id"):
        catalogue.envelope("thing.done", {"minutes": 5}, None, version=1)
    with pytest.raises(KeyError):
        catalogue.get("thing.unknown")


def test_personal_data_is_masked_hashed_and_encrypted() -> None:
    first17 = "11010519491231002"
    number = first17 + id_check_digit(first17)
    assert id_number_valid(number) and not id_number_valid(first17 + "0" if number[-1] != "0" else first17 + "1")
    assert mask_id_number(number) == number[:4] + "**********" + number[-4:]
    assert mask_phone("13812345678") == "138****5678"
    pii = PersonalData("secret")
    assert pii.fingerprint(number) == PersonalData("secret").fingerprint(canonical_id_number(number.lower()))
    assert pii.fingerprint(number) != PersonalData("other").fingerprint(number)
    token = pii.encrypt(number)
    assert number not in token and pii.decrypt(token) == number


def test_config_file_is_found_from_an_installed_image(tmp_path: Any, monkeypatch: Any) -> None:
    from yilin.config import DEFAULT_CONFIG_FILE, config_file

    monkeypatch.chdir(tmp_path)
    assert config_file({}) == DEFAULT_CONFIG_FILE  # a checkout: beside the source
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "config.yml").write_text("AMQP_URI: ${YILIN_AMQP_URI:pyamqp://x}\n")
    assert config_file({}).resolve() == (tmp_path / "deploy" / "config.yml").resolve()  # the image's /app
    assert load_config(environ={})["AMQP_URI"] == "pyamqp://x"
    assert config_file({"YILIN_CONFIG": "/etc/yilin.yml"}) == Path("/etc/yilin.yml")

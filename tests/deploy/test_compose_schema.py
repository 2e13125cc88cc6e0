"""docker-compose.yml against the Compose Specification's own JSON Schema (what `docker compose
config` checks first): every profile's services, their keys and the values those keys take."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from tests.test_compose import _compose

SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"


@cache
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def errors(document: dict[str, Any]) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator().iter_errors(document)]


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    assert errors(_compose()) == []


def test_the_schema_refuses_what_compose_refuses() -> None:
    """A wrong condition, a misspelt key and a profile not in a list are each refused."""
    wrong_condition = copy.deepcopy(_compose())
    wrong_condition["services"]["relay-1"]["depends_on"]["mongo-1"]["condition"] = "healthy"
    misspelt = copy.deepcopy(_compose())
    misspelt["services"]["proxy"]["healthchek"] = misspelt["services"]["proxy"]["healthcheck"]
    bare_profile = copy.deepcopy(_compose())
    bare_profile["services"]["proxy"]["profiles"] = "cluster"
    for document in (wrong_condition, misspelt, bare_profile):
        assert errors(document), "the schema accepted a file compose would refuse"

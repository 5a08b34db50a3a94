"""Example tests for contrib/snap/harness.py: heavy imports and a fixture
built once, at import; every test runs in a fresh copy of that state."""
import asyncio  # noqa: F401  (heavy stdlib imports, done once)
import decimal
import email.parser  # noqa: F401
import http.client  # noqa: F401
import json
import unittest  # noqa: F401
import xml.etree.ElementTree as ET  # noqa: F401

TABLE = {i: decimal.Decimal(i) / 7 for i in range(20000)}  # the warm fixture
STATE = []


def test_fixture_is_there():
    assert len(TABLE) == 20000 and str(TABLE[7]) == "1"


def test_mutates_state():
    STATE.append("dirty")
    TABLE.clear()
    assert STATE == ["dirty"]


def test_state_is_fresh():
    # the test above changed both in its own copy only
    assert STATE == [] and len(TABLE) == 20000


def test_json_roundtrip():
    assert json.loads(json.dumps({"a": [1, 2]})) == {"a": [1, 2]}


def test_fails_on_purpose():
    assert 1 + 1 == 3, "this one is meant to fail"

"""Fixtures for the Ask API tests: the evaluation catalog and a fake language-model server."""

import pytest

from tests.ask.eval_harness import catalog_of, load
from tests.ask.fake_llm import FakeLLM


@pytest.fixture(scope="session")
def eval_data() -> dict:
    return load()


@pytest.fixture(scope="session")
def catalog(eval_data):
    return catalog_of(eval_data)


@pytest.fixture
def fake_llm():
    server = FakeLLM().start()
    yield server
    server.stop()

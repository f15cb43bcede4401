import os

import pytest
from fixture_tree import FIXTURES


@pytest.fixture
def proc_root():
    return os.path.join(FIXTURES, "proc", "nested")


@pytest.fixture
def state_dir():
    return os.path.join(FIXTURES, "state", "run", "nsfleet")

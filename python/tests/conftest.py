import os
import pathlib

import pytest

import buffdb

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES_DIR = pathlib.Path(os.environ.get("BUFFDB_CASES_DIR", REPO_ROOT / "tests" / "cases"))


@pytest.fixture
def dbpath(tmp_path):
    return str(tmp_path / "test.buffdb")


@pytest.fixture
def db(dbpath):
    d = buffdb.open(dbpath)
    yield d
    d.close()


@pytest.fixture
def small_db(dbpath):
    """Small chunks, so multi-chunk paths are exercised with little data."""
    d = buffdb.open(dbpath, chunk_size=4096)
    yield d
    d.close()


def pytest_report_header(config):
    return f"buffdb {buffdb.__version__} from {buffdb.__file__}"

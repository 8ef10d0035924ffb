"""Fixtures of the engine tests: a local SparkSession for the `spark`-marked tests.

Outside CI a missing Java or pyspark skips them with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import shutil

import pytest
from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole run (starting one takes seconds)."""
    if shutil.which("java") is None:
        skip_or_fail("the spark tests need Java 17+ (`java` is not on PATH)")
    try:
        import pandas  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        skip_or_fail(
            f"the spark tests need the spark extra: pip install 'leadscore[spark]' ({exc})"
        )
    from leadscore.engine.spark import session

    spark = session("local[2]", app="leadscore-tests")
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()

import pytest

from .prometheus_server import PrometheusNotFound, prometheus_path, promtool_path


@pytest.fixture(scope="session")
def promtool() -> str:
    # A missing binary is a broken environment, not a reason to skip.
    try:
        return promtool_path()
    except PrometheusNotFound as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    try:
        return prometheus_path()
    except PrometheusNotFound as error:
        pytest.fail(str(error))

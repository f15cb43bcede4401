"""Content negotiation: OpenMetrics when the scraper prefers it, the text format otherwise."""

import pytest

from nsfleet_agent.server import wants_openmetrics

PROMETHEUS_2 = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


@pytest.mark.parametrize("accept, openmetrics", [
    (PROMETHEUS_2, True),
    ("application/openmetrics-text; version=0.0.1", True),
    ("application/openmetrics-text", True),
    ("text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5", False),
    ("application/openmetrics-text;version=2.0.0", False),
    ("application/openmetrics-text;q=0", False),
    ("text/plain", False),
    ("*/*", False),
    ("", False),
    ("garbage;;q=x,,", False),
])
def test_wants_openmetrics(accept, openmetrics):
    assert wants_openmetrics(accept) is openmetrics

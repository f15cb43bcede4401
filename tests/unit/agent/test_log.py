"""--log.format: every line parses as logfmt or as JSON, with ts, level, caller and msg."""

import io
import json
import logging
import re

import pytest
from logfmt import parse_logfmt

from nsfleet_agent import log


@pytest.fixture
def logged():
    stream = io.StringIO()

    def emit(log_format, level="debug"):
        handler = log.configure(level, log_format, stream)
        try:
            logger = logging.getLogger("nsfleet_agent")
            logger.debug("scraped in %s", "0.01s")
            logger.info('quoted "name" = value\nsecond line')
            logger.warning("")
            try:
                raise OSError("boom")
            except OSError:
                logger.exception("scrape failed")
        finally:
            logging.getLogger().removeHandler(handler)
        return stream.getvalue().splitlines()
    return emit


def test_logfmt_lines_parse(logged):
    lines = [parse_logfmt(line) for line in logged("logfmt")]
    assert [line["level"] for line in lines] == ["debug", "info", "warn", "error"]
    assert lines[1]["msg"] == 'quoted "name" = value\nsecond line'
    assert lines[2]["msg"] == ""
    assert "OSError: boom" in lines[3]["err"]
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line["ts"])
        assert line["caller"].startswith("test_log:")


def test_json_lines_parse(logged):
    lines = [json.loads(line) for line in logged("json")]
    assert [line["level"] for line in lines] == ["debug", "info", "warn", "error"]
    assert lines[1]["msg"] == 'quoted "name" = value\nsecond line'
    assert list(lines[0]) == ["ts", "level", "caller", "msg"]


def test_level_filters(logged):
    assert [parse_logfmt(line)["level"] for line in logged("logfmt", "warn")] == ["warn", "error"]


def test_bad_values_name_the_flag():
    with pytest.raises(ValueError, match="--log.format"):
        log.configure("info", "xml")
    with pytest.raises(ValueError, match="--log.level"):
        log.configure("verbose", "json")

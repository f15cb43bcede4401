"""--log.level and --log.format: one line per record on stderr, logfmt or JSON, as Prometheus exporters log."""

import json
import logging
import sys
import time

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
FORMATS = ("logfmt", "json")
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
                logging.CRITICAL: "error"}


def _fields(record, formatter):
    """(key, value) pairs of a record, in the order exporters use: ts, level, caller, msg[, err]."""
    seconds = time.gmtime(record.created)
    fields = [("ts", "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", seconds), record.msecs)),
              ("level", _LEVEL_NAMES.get(record.levelno, record.levelname.lower())),
              ("caller", "%s:%d" % (record.module, record.lineno)),
              ("msg", record.getMessage())]
    if record.exc_info:
        fields.append(("err", formatter.formatException(record.exc_info)))
    return fields


def _logfmt_value(text):
    if text and all(char.isprintable() and char not in ' ="\\' for char in text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \", \\ and \n escaped


class LogfmtFormatter(logging.Formatter):
    def format(self, record):
        return " ".join("%s=%s" % (key, _logfmt_value(value)) for key, value in _fields(record, self))


class JSONFormatter(logging.Formatter):
    def format(self, record):
        return json.dumps(dict(_fields(record, self)), ensure_ascii=False)


def configure(level="info", log_format="logfmt", stream=None):
    """Send every logger's records to ``stream`` (stderr) as ``log_format`` lines, from ``level`` up."""
    if level not in LEVELS:
        raise ValueError("--log.level: %r is not one of %s" % (level, ", ".join(LEVELS)))
    if log_format not in FORMATS:
        raise ValueError("--log.format: %r is not one of %s" % (log_format, ", ".join(FORMATS)))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter() if log_format == "logfmt" else JSONFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    return handler

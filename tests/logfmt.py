"""Parse one logfmt line strictly, as Prometheus tooling reads exporters' logs: key=bare or key="quoted"."""

import json
import re

PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|[^ "=]+)(?: |$)')


def parse_logfmt(line):
    """{key: value}; AssertionError where the line is not logfmt."""
    pairs, position = {}, 0
    for match in PAIR.finditer(line):
        assert match.start() == position, "not logfmt at %d: %r" % (position, line)
        key, value = match.groups()
        pairs[key] = json.loads(value) if value.startswith('"') else value
        position = match.end()
    assert position == len(line) and pairs, "not logfmt: %r" % line
    return pairs

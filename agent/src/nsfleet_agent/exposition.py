"""The Prometheus text format (0.0.4) and OpenMetrics 1.0.0, written directly.

prometheus_client validates and escapes every label of every sample on every
scrape; with one mapping series per process that was most of a scrape. Here a
series' text is built once and reused while its labels stay the same.
"""

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
OPENMETRICS_EOF = b"# EOF\n"


def label_value(text):
    return text.translate(_ESCAPES) if ("\\" in text or '"' in text or "\n" in text) else text


def labels(pairs):
    """[(name, value), ...] -> '{name="value",...}'; names are ours and need no checking."""
    if not pairs:
        return ""
    return "{" + ",".join('%s="%s"' % (name, label_value(str(value))) for name, value in pairs) + "}"


def number(value):
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "%d" % value
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class Family:
    """One metric family: its HELP and TYPE, then sample lines."""

    __slots__ = ("name", "kind", "help_text", "lines")

    def __init__(self, name, kind, help_text):
        self.name = name
        self.kind = kind
        self.help_text = help_text
        self.lines = []

    def add(self, pairs, value):
        self.lines.append("%s%s %s\n" % (self.name, labels(pairs), number(value)))

    def add_line(self, line):
        """A whole sample line made earlier (it must start with this family's name)."""
        self.lines.append(line)

    def render(self, out, openmetrics=False):
        name = self.name
        help_text = self.help_text.replace("\\", "\\\\").replace("\n", "\\n")
        if openmetrics:
            # OpenMetrics names a counter family without _total; its samples keep it.
            if self.kind == "counter" and name.endswith("_total"):
                name = name[:-len("_total")]
            help_text = help_text.replace('"', '\\"')
        out.append("# HELP %s %s\n# TYPE %s %s\n" % (name, help_text, name, self.kind))
        out.extend(self.lines)


def render(families, openmetrics=False):
    """The families' text; in OpenMetrics the caller ends the whole exposition with OPENMETRICS_EOF."""
    out = []
    for family in families:
        family.render(out, openmetrics)
    return "".join(out).encode("utf-8")

"""The agent's own families: how long the scrape's reads took, what they skipped, the version."""

from .. import __version__
from ..exposition import Family

ERROR_REASONS = ("vanished", "permission", "io", "parse", "state_file")


class ScrapeCollector:
    def families(self, snapshot):
        duration = Family("nsfleet_scrape_duration_seconds", "gauge",
                          "How long reading /proc and the state dir took for this scrape.")
        duration.add([], snapshot.duration)
        errors = Family("nsfleet_scrape_errors_total", "counter",
                        "Processes or files skipped while scraping, by reason "
                        "(vanished: exited mid-scan; permission; io; parse; state_file).")
        for reason in ERROR_REASONS:
            errors.add([("reason", reason)], snapshot.errors_total.get(reason, 0))
        build = Family("nsfleet_build_info", "gauge", "The agent's version; always 1.")
        build.add([("version", __version__)], 1)
        return [duration, errors, build]

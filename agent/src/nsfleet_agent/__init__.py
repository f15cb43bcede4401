"""nsfleet-agent: PID namespaces as Prometheus metrics, read from /proc."""

__version__ = "0.1.0"

"""nsfleet-agent's command line, in node_exporter's style."""

import argparse
import logging
import resource
import signal
import sys
import threading

from . import __version__, log, memory
from .exporter import make_exporter
from .sources.proc_events import ProcEvents
from .server import make_server, serve_in_thread
from .web_config import WebConfigError, load

LOG = logging.getLogger("nsfleet_agent")
# Past the Prometheus exporters' allocated 9100-9999, which is full; see the agent's README.
DEFAULT_PORT = 10146
DEFAULT_LISTEN_ADDRESS = "127.0.0.1:%d" % DEFAULT_PORT


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nsfleet-agent",
        description="Export PID namespaces as Prometheus metrics: processes per namespace, how namespaces nest, "
                    "and each process's host PID and PID inside its namespace, labelled with nsfleet workloads.",
        epilog="'nsfleet-agent trace --help': stream fork, exec and exit events live instead of serving metrics.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--web.listen-address", dest="listen_address", default=DEFAULT_LISTEN_ADDRESS,
                        metavar="HOST:PORT", help="address to serve /metrics on; ':%d' or '[::]:%d' for every "
                                                "IPv4 and IPv6 address" % (DEFAULT_PORT, DEFAULT_PORT))
    parser.add_argument("--web.telemetry-path", dest="telemetry_path", default="/metrics", metavar="PATH",
                        help="path under which to expose metrics")
    parser.add_argument("--web.config.file", dest="web_config_file", default=None, metavar="FILE",
                        help="exporter-toolkit web config: TLS and mTLS (tls_server_config), basic auth "
                             "(basic_auth_users, bcrypt hashes), response headers (http_server_config)")
    parser.add_argument("--path.procfs", dest="procfs", default="/proc", metavar="DIR", help="procfs mount point")
    parser.add_argument("--path.state", dest="state_dir", default="/run/nsfleet", metavar="DIR",
                        help="nsfleet's live state dir, for workload names")
    parser.add_argument("--collector.pidns", dest="collect_pidns", action=argparse.BooleanOptionalAction,
                        default=True, help="per-namespace processes, threads, zombies and nesting")
    parser.add_argument("--collector.pid-mapping", dest="collect_mapping", action=argparse.BooleanOptionalAction,
                        default=True, help="host PID <-> namespace PID series, for every namespace but the host's")
    parser.add_argument("--collector.pid-mapping.max-series", dest="mapping_max_series", type=int, default=10000,
                        metavar="N", help="cap on nsfleet_pid_mapping series; the rest are counted in "
                                          "nsfleet_series_dropped")
    parser.add_argument("--collector.workloads", dest="collect_workloads", action=argparse.BooleanOptionalAction,
                        default=True, help="nsfleet_workload_up and restarts from the state dir")
    parser.add_argument("--collector.proc_events", dest="collect_proc_events", action=argparse.BooleanOptionalAction,
                        default=True, help="fork/exec/exit counts per namespace from the kernel's process connector, "
                                           "which also keep the process cache current between scrapes")
    parser.add_argument("--collector.resources", dest="collect_resources", action=argparse.BooleanOptionalAction,
                        default=True, help="per-workload CPU, memory, PIDs, limits and OOM kills from its cgroup; "
                                           "CPU and memory of every other PID namespace from /proc")
    parser.add_argument("--collector.proc_events.stat-max-age", dest="stat_max_age", type=float, default=60.0,
                        metavar="SECONDS", help="with process events, at most how old a process's CPU time and "
                                                "memory may be in the resources collector's sums (0: read on "
                                                "every scrape, as polling does)")
    parser.add_argument("--log.level", dest="log_level", default="info", choices=tuple(log.LEVELS),
                        help="only log messages of this level or above")
    parser.add_argument("--log.format", dest="log_format", default="logfmt", choices=log.FORMATS,
                        help="one line per message on stderr, in logfmt or JSON")
    parser.add_argument("--version", action="version", version="nsfleet-agent %s" % __version__)
    return parser


def raise_open_file_limit():
    """Lift the soft RLIMIT_NOFILE to the hard limit, and return the soft limit in force.

    A start-up decision: the scan holds one /proc/PID/stat descriptor per
    process so that a steady scrape is one pread each, and the default soft
    limit (1024) would cap that far below a busy host's process count. The
    hard limit stays whatever the service manager set (LimitNOFILE).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            LOG.warning("could not raise the open file limit from %d to %d: %s", soft, hard, error)
    return soft


def check_args(args):
    if args.mapping_max_series < 0:
        raise ValueError("--collector.pid-mapping.max-series must not be negative")
    if not args.stat_max_age >= 0:
        raise ValueError("--collector.proc_events.stat-max-age must be a number of seconds, 0 or more")


def build_exporter(args, proc_events=None):
    check_args(args)
    return make_exporter(args.procfs, args.state_dir, args.collect_pidns, args.collect_mapping,
                         args.collect_workloads, args.mapping_max_series, args.collect_resources,
                         proc_events=proc_events, stat_max_age=args.stat_max_age or None)


def start_proc_events(args):
    """A started ProcEvents, subscribed (or polling: its up is 0), or None when switched off."""
    if not args.collect_proc_events:
        return None
    proc_events = ProcEvents(args.procfs)
    proc_events.start()
    return proc_events


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["trace"]:
        from . import trace  # psutil and the trace's own code stay out of the serving agent's memory
        return trace.main(argv[1:])
    args = build_parser().parse_args(argv)
    log.configure(args.log_level, args.log_format)
    memory.limit_malloc_retention()  # before the threads that would get arenas of their own
    open_file_limit = raise_open_file_limit()  # before the scan sizes its descriptor budget from it
    try:
        web_config = load(args.web_config_file) if args.web_config_file else None
        check_args(args)  # bad flags fail here, before anything is started
    except (WebConfigError, ValueError, OSError) as error:
        LOG.error("%s", error)
        return 2
    # Subscribe, then prime: a process that changes while the cache fills is re-read at the first scrape.
    proc_events = start_proc_events(args)
    exporter = build_exporter(args, proc_events)
    try:
        exporter.prime()
    except Exception:  # the same failure answers each scrape with a 500 and a log line: serve anyway
        LOG.exception("reading the host before the first scrape failed")
    try:
        server = make_server(args.listen_address, exporter, web_config, args.telemetry_path)
    except (ValueError, OSError) as error:
        LOG.error("%s", error)
        if proc_events is not None:
            proc_events.stop()
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    serve_in_thread(server)
    LOG.info("listening on %s%s (TLS %s, basic auth %s), procfs %s, state %s, open file limit %s", args.listen_address,
             args.telemetry_path, "on" if web_config and web_config.ssl_context else "off",
             "on" if web_config and web_config.users else "off", args.procfs, args.state_dir,
             "unlimited" if open_file_limit == resource.RLIM_INFINITY else open_file_limit)
    while not stop.wait(3600):
        pass
    LOG.info("shutting down")
    server.shutdown()
    server.server_close()
    if proc_events is not None:
        proc_events.stop()
    return 0

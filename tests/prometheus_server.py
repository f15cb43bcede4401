"""A real Prometheus (Debian's package) on loopback, scraping given targets every second or two."""

import json
import os
import subprocess
import time
import urllib.request

from support import free_port

# A 2s timeout: on a loaded test machine 1s scrapes time out now and then.
CONFIG = """global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 1s
rule_files: {rule_files}
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: {targets}
"""


class Prometheus:
    """``with Prometheus(workdir, ["127.0.0.1:10146"]) as prometheus: prometheus.url``"""

    def __init__(self, workdir, targets=(), job="nsfleet", rule_files=(), config_file=None):
        """``config_file``: a configuration of the test's (monitoring.yml's, say) instead of one for ``targets``."""
        self.workdir = str(workdir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        config = config_file or os.path.join(self.workdir, "prometheus.yml")
        if not config_file:
            with open(config, "w") as config_file:
                config_file.write(CONFIG.format(job=json.dumps(job), targets=json.dumps(list(targets)),
                                                rule_files=json.dumps([os.path.abspath(f) for f in rule_files])))
        self.process = subprocess.Popen(
            ["prometheus", "--config.file", config, "--storage.tsdb.path", os.path.join(self.workdir, "tsdb"),
             "--web.listen-address", "127.0.0.1:%d" % self.port, "--log.level", "warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                if self.process.poll() is not None:
                    return False
            time.sleep(0.2)
        return False

    def api(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.load(response)["data"]

    def __enter__(self):
        if not self.ready():
            self.stop()
            raise RuntimeError("prometheus did not become ready")
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

"""make bench, batch part: 100 workloads converged by one nsfleet.pidns.workloads task, against a loop of 100
nsfleet.pidns.workload tasks, measured in the same run: first creation, then a repeat that changes nothing.

Each way runs ansible-playbook on this host (local connection, the host's own Python, as make demo does) with
its own state dir. The figure is the task's own time, taken from timestamps set just before and after it, so
ansible-playbook's start-up is left out of both sides alike. Goals: the batch creates in 5 s or less, at least
10 times faster than the loop, and repeats in 2 s or less.
"""

import json
import os
import subprocess
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(TOP, ".venv", "bin")
COLLECTIONS = os.path.join(TOP, ".build", "collections")
NSFLEET = os.path.join(TOP, "build", "nsfleet")
COUNT = int(os.environ.get("BENCH_BATCH_COUNT", "100"))

PLAYBOOK = """---
- name: Converge {count} workloads, {{{{ way }}}}
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Note the start
      ansible.builtin.set_fact:
        bench_started: "{{{{ now().timestamp() }}}}"

    - name: One workloads task
      nsfleet.pidns.workloads:
        state_dir: "{{{{ state_dir }}}}"
        workloads: "{{{{ bench_workloads }}}}"
      when: way == 'batch'

    - name: A loop of workload tasks
      nsfleet.pidns.workload:
        state_dir: "{{{{ state_dir }}}}"
        name: "{{{{ item.name }}}}"
        command: "{{{{ item.command }}}}"
        stop_timeout: "{{{{ item.stop_timeout }}}}"
      loop: "{{{{ bench_workloads }}}}"
      when: way == 'loop'

    - name: Write the elapsed time
      ansible.builtin.copy:
        content: "{{{{ now().timestamp() - (bench_started | float) }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
"""


def converge(workdir, way, state_dir):
    """Seconds the task took (None if the playbook failed)."""
    result_file = os.path.join(workdir, "elapsed-%s" % way)
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=/usr/bin/python3", "-e", "@" + os.path.join(workdir, "vars.json"),
            "-e", "way=%s state_dir=%s result_file=%s" % (way, state_dir, result_file),
            os.path.join(workdir, "bench.yml")]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, check=False)
    if done.returncode != 0:
        print("  ansible-playbook (%s) failed:\n%s" % (way, done.stdout[-3000:]))
        return None
    with open(result_file) as elapsed:
        return float(elapsed.read())


def remove_all(state_dir):
    names = ["bench-%03d" % index for index in range(COUNT)]
    subprocess.run([NSFLEET, "--state-dir", state_dir, "rm", "--force"] + names, stdout=subprocess.DEVNULL,
                   check=False, timeout=600)


def row(label, seconds, reference=None, goal=None):
    if seconds is None:
        print("  %-52s %10s" % (label, "failed"))
        return
    ratio = "" if reference is None else "  %.1fx faster than the loop" % (reference / seconds)
    print("  %-52s %8.2f s%s%s" % (label, seconds, ratio, "" if goal is None else "  (goal <= %g s)" % goal))


def bench_batch(workdir=None):
    workdir = tempfile.mkdtemp(prefix="batch-", dir=workdir)
    with open(os.path.join(workdir, "bench.yml"), "w") as playbook:
        playbook.write(PLAYBOOK.format(count=COUNT))
    with open(os.path.join(workdir, "vars.json"), "w") as variables:
        json.dump({"bench_workloads": [{"name": "bench-%03d" % index, "command": ["sleep", "3600"], "stop_timeout": 1}
                                       for index in range(COUNT)]}, variables)
    timings = {}
    for way in ("batch", "loop"):
        state_dir = os.path.join(workdir, way)
        try:
            timings[way] = (converge(workdir, way, state_dir), converge(workdir, way, state_dir))
        finally:
            remove_all(state_dir)  # one set alive at a time: the other way runs on a host as quiet as this one
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    print("Converge %d workloads with ansible-playbook (local connection), task time; load average %s "
          "(a shared, busy machine: compare the ratios, not the seconds):" % (COUNT, load))
    row("first creation: one nsfleet.pidns.workloads task", timings["batch"][0], timings["loop"][0], goal=5)
    row("first creation: loop of nsfleet.pidns.workload tasks", timings["loop"][0])
    row("repeat, nothing to change: one workloads task", timings["batch"][1], timings["loop"][1], goal=2)
    row("repeat, nothing to change: loop of workload tasks", timings["loop"][1])


if __name__ == "__main__":
    bench_batch()

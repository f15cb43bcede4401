# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nsfleet's executor: stdlib-only, the one place that makes syscalls.

Shipped to each host as a single self-unpacking script (see ``_executor_bundle``);
never imports Ansible. Its layers, each a subpackage, from the outside in:

- ``cli``: the ``nsfleet`` command line;
- ``lifecycle``: create/start/stop/rm of named workloads, the state store, daemonising;
- ``spec``: the spec schema, validation and hash;
- ``runtime``: what runs inside the new namespaces (supervisor, instance set-up, init, filesystem, joins);
- ``security``: what confines a workload (capabilities, seccomp, cgroups, user namespaces);
- ``host``: access to the host (libc, signals, /proc, process identity, termination).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__version__ = "0.1.0"

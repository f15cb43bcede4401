# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # Options every nsfleet module takes.
    DOCUMENTATION = r"""
options:
  state_dir:
    description:
      - Root of nsfleet's state layout on the host.
      - Workload state lives in C(<state_dir>/run/nsfleet), specs in C(<state_dir>/var/lib/nsfleet),
        logs in C(<state_dir>/var/log/nsfleet), and the executor in C(<state_dir>/var/lib/nsfleet/bin/nsfleet).
      - Change it to keep several independent sets of workloads on one host, for example in tests.
    type: path
    default: /
requirements:
  - Linux with PID and mount namespaces, and root on the host.
  - Python 3.9 or newer on the host (the executor uses only the standard library).
notes:
  - The module installs the C(nsfleet) executor on the host on first use and rewrites it only when its content changes.
"""

    # Attributes of modules that change the host.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Changes nothing on the host; a missing or outdated executor runs from Ansible's temporary directory.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
    support: full
"""

    # Attributes of read-only modules.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This module never changes the host; without an up-to-date executor it runs one from Ansible's temporary directory.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
    support: full
"""

# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nsfleet's executor: stdlib-only, the one place that makes syscalls.

Shipped to each host as a single zipapp (see ``bundle``); never imports Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

__version__ = "0.1.0"

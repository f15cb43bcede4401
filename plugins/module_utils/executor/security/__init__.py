# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security layer: what confines a workload (paths kept inside its root, capabilities, seccomp, cgroups)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

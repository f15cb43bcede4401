# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lifecycle of named workloads: create, start, stop, rm, the state store, observation, daemonising."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

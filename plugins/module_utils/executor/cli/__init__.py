# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line: the nsfleet CLI and its table-driven argument parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

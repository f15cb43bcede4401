# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtime inside the new namespaces: supervisor, instance set-up checklist, init, filesystem, joins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

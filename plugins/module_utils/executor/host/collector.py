# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python's cycle collector: off for one-shot commands, on for the processes that outlive them.

A one-shot command allocates in one burst (its imports) and exits, and the
collections that burst sets off cost about a millisecond of every start, so
the executor's entry point turns the collector off. A process that lives as
long as a workload (its supervisor, its init) turns it back on once its
workload runs, after moving all that start-up made into the permanent
generation: no collection rescans it, and forked children share its pages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc


def for_one_shot():
    gc.disable()


def for_long_life():
    gc.freeze()
    gc.enable()

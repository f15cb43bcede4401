# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``limits`` and ``cgroup_parent``: parsed from what Docker users write, checked, normalised.

Sizes are bytes or a number with a binary unit (``512m``, ``1g``, ``1.5G``,
``256MiB``); ``cpu`` is a number of CPUs (``0.5``); ``pids`` a number of
tasks; ``cpu_weight`` the cgroup v2 weight (1 to 10000, default 100). The
normal form keeps only the limits given, as numbers, so ``512m`` and
``536870912`` are the same spec.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os

from .validate import SpecError

LIMIT_NAMES = ("memory", "memory_swap", "pids", "cpu", "cpu_weight")
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# Below this the workload's own init cannot run (Docker's minimum too).
MIN_MEMORY_BYTES = 6 << 20
# The CFS period nsfleet writes, and the smallest quota the kernel takes (1 ms).
CPU_PERIOD_US = 100000
MIN_CPU_QUOTA_US = 1000
MIN_CPUS = MIN_CPU_QUOTA_US / CPU_PERIOD_US
CPU_WEIGHT_MIN, CPU_WEIGHT_MAX = 1, 10000
# pids.max takes a 32-bit count; a larger one is a typo.
MAX_PIDS = 4194304
# cgroup_parent's components: what a cgroup directory may be called without surprises.
_PARENT_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@:-")


def parse_size(param, value):
    """Bytes from 536870912, '536870912', '512m', '512MB', '512MiB' or '0.5g'. Refuses negatives and nonsense."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(param, "must be a size such as 512m or 1g, got %r" % (value,))
    text = str(value).strip().lower()
    number_end = len(text)
    for index, character in enumerate(text):
        if not (character.isdigit() or character in ".-+"):
            number_end = index
            break
    number_text, unit = text[:number_end].strip(), text[number_end:].strip()
    if unit.endswith("b"):
        unit = unit[:-1]
    if unit.endswith("i") and unit != "i":
        unit = unit[:-1]
    try:
        number = float(number_text)
    except ValueError:
        number = None
    if number is None or unit not in _SIZE_UNITS or math.isnan(number) or math.isinf(number):
        raise SpecError(param, "%r is not a size (a number of bytes, or with a unit: 512k, 512m, 1g, 1t)" % (value,))
    if number < 0:
        raise SpecError(param, "must not be negative, got %r" % (value,))
    size = int(number * _SIZE_UNITS[unit])
    if size >= 1 << 62:
        raise SpecError(param, "%r is larger than any host's memory" % (value,))
    return size


def parse_cpus(param, value, host_cpus):
    """A number of CPUs, more than 0 and at most ``host_cpus``: 0.5 is half of one CPU's time."""
    if isinstance(value, bool):
        raise SpecError(param, "must be a number of CPUs such as 0.5 or 2, got %r" % (value,))
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise SpecError(param, "must be a number of CPUs such as 0.5 or 2, got %r" % (value,))
    if math.isnan(cpus) or cpus < MIN_CPUS:
        raise SpecError(param, "must be at least %s CPUs (a 1 ms quota per 100 ms), got %r" % (MIN_CPUS, value))
    if cpus > host_cpus:
        raise SpecError(param, "%r is more than this host's %d CPUs" % (value, host_cpus))
    return int(cpus) if cpus.is_integer() else cpus


def parse_count(param, value, lowest, highest, what):
    if isinstance(value, bool):
        raise SpecError(param, "must be a whole number (%s), got %r" % (what, value))
    try:
        count = int(str(value).strip())
    except ValueError:
        raise SpecError(param, "must be a whole number (%s), got %r" % (what, value))
    if not lowest <= count <= highest:
        raise SpecError(param, "must be between %d and %d (%s), got %r" % (lowest, highest, what, value))
    return count


def validate_limits(raw, host_cpus=None):
    """The normal form of ``limits``: only the limits given (None means not given)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError("limits", "must be a mapping such as {memory: 512m, pids: 100, cpu: 0.5}")
    unknown = sorted(str(key) for key in raw if key not in LIMIT_NAMES)
    if unknown:
        raise SpecError("limits.%s" % unknown[0], "unknown limit (known: %s)" % ", ".join(LIMIT_NAMES))
    given = dict((key, value) for key, value in raw.items() if value is not None)
    limits = {}
    if "memory" in given:
        limits["memory"] = parse_size("limits.memory", given["memory"])
        if limits["memory"] < MIN_MEMORY_BYTES:
            raise SpecError("limits.memory", "must be at least 6m (%d bytes), got %r" % (MIN_MEMORY_BYTES, given["memory"]))
    if "memory_swap" in given:
        limits["memory_swap"] = _memory_swap(given["memory_swap"], limits.get("memory"))
    if "pids" in given:
        limits["pids"] = parse_count("limits.pids", given["pids"], 1, MAX_PIDS, "processes and threads")
    if "cpu" in given:
        limits["cpu"] = parse_cpus("limits.cpu", given["cpu"], host_cpus or os.cpu_count() or 1)
    if "cpu_weight" in given:
        limits["cpu_weight"] = parse_count("limits.cpu_weight", given["cpu_weight"], CPU_WEIGHT_MIN, CPU_WEIGHT_MAX,
                                           "relative CPU share, default 100")
    return limits


def _memory_swap(value, memory):
    """Docker's meaning: memory plus swap in all, -1 for unlimited swap; needs ``memory``."""
    if memory is None:
        raise SpecError("limits.memory_swap", "needs limits.memory (it is memory and swap together)")
    if str(value).strip() == "-1":
        return -1
    total = parse_size("limits.memory_swap", value)
    if total < memory:
        raise SpecError("limits.memory_swap", "%r is less than limits.memory; it counts memory and swap together"
                        % (value,))
    return total


def validate_cgroup_parent(value):
    """An absolute cgroup path below the root, such as /nsfleet or /system.slice/nsfleet.service; None: the default."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise SpecError("cgroup_parent", "must be an absolute cgroup path such as /nsfleet, got %r" % (value,))
    parts = [part for part in value.split("/") if part]
    if not parts:
        raise SpecError("cgroup_parent", "must name a cgroup below the root, such as /nsfleet")
    for part in parts:
        if part in (".", "..") or part.startswith("cgroup.") or not set(part) <= _PARENT_CHARACTERS:
            raise SpecError("cgroup_parent", "%r is not a usable cgroup name (letters, digits, '_', '.', '@', ':', "
                                             "'-'; not '.', '..' or 'cgroup.*')" % part)
    return "/" + "/".join(parts)

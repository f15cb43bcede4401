# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compiled seccomp filters kept per boot, so a start does not pay libseccomp's compile again.

Compiling Docker's default profile for three architectures takes longer than
the rest of a start. A program depends only on what was compiled (the
profile, the capabilities, the machine), so it is kept under the state
dir's run directory (a tmpfs: gone at reboot) in a file that holds those
inputs in full: a file is used only when its inputs are exactly the asked
ones, never on a matching name alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import zlib

# A few distinct profiles and capability sets per host; past this, the oldest go.
MAX_ENTRIES = 32
_SEPARATOR = b"\0"


def _path(cache_dir, inputs):
    return os.path.join(cache_dir, "%08x-%d.bpf" % (zlib.crc32(inputs), len(inputs)))


def read(cache_dir, inputs):
    """The cached program compiled from exactly ``inputs`` (bytes), or None."""
    try:
        with open(_path(cache_dir, inputs), "rb") as cached:
            content = cached.read()
    except OSError:
        return None
    stored, _sep, program = content.partition(_SEPARATOR)
    if stored != inputs or not program or len(program) % 8:
        return None
    return program


def write(cache_dir, inputs, program):
    """Keep ``program``; a cache that cannot be written only costs the next start a compile."""
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        path = _path(cache_dir, inputs)
        temp_path = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, inputs + _SEPARATOR + program)
        finally:
            os.close(fd)
        os.rename(temp_path, path)
        _prune(cache_dir)
    except OSError:
        pass


def _prune(cache_dir):
    entries = []
    for name in os.listdir(cache_dir):
        try:
            entries.append((os.stat(os.path.join(cache_dir, name)).st_mtime, name))
        except OSError:
            continue
    for _mtime, name in sorted(entries)[:-MAX_ENTRIES]:
        try:
            os.unlink(os.path.join(cache_dir, name))
        except OSError:
            pass

# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolving ``user`` (a name, ``uid`` or ``uid:gid``) to numeric ids.

With a rootfs the names come from the rootfs's own /etc/passwd and
/etc/group, as they would for a process inside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd


def _read_database(rootfs, name):
    """Rows of a passwd-style file as lists of fields."""
    try:
        with open(os.path.join(rootfs, "etc", name)) as database:
            return [line.rstrip("\n").split(":") for line in database if line.strip() and not line.startswith("#")]
    except OSError:
        return []


def _lookup_user(name, rootfs):
    if rootfs:
        for fields in _read_database(rootfs, "passwd"):
            if len(fields) >= 4 and fields[0] == name:
                return int(fields[2]), int(fields[3])
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _lookup_group(name, rootfs):
    if rootfs:
        for fields in _read_database(rootfs, "group"):
            if len(fields) >= 3 and fields[0] == name:
                return int(fields[2])
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def resolve(user, rootfs=None):
    """'root' / '1000' / '1000:1000' / 'nobody:nogroup' -> {"uid": .., "gid": ..}.

    Raises LookupError with a message fit for the user.
    """
    if not user.isascii() or not user.strip() or any(character in user for character in " \t\n/"):
        raise LookupError("%r is not a user name, uid or uid:gid" % user)
    user_part, _sep, group_part = user.partition(":")
    if user_part.isdigit():
        uid, gid = int(user_part), int(user_part)
    else:
        found = _lookup_user(user_part, rootfs)
        if found is None:
            where = " in %s/etc/passwd" % rootfs if rootfs else ""
            raise LookupError("unknown user %r%s" % (user_part, where))
        uid, gid = found
    if group_part:
        if group_part.isdigit():
            gid = int(group_part)
        else:
            found_gid = _lookup_group(group_part, rootfs)
            if found_gid is None:
                raise LookupError("unknown group %r" % group_part)
            gid = found_gid
    return {"uid": uid, "gid": gid}

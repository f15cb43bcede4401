# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signal primitives, and signal names <-> numbers.

The standard ``signal`` module wraps the C module ``_signal`` in enums, and
importing enum costs a third of a one-shot ``nsfleet run``. Everything the
executor needs is in ``_signal`` itself, with plain ints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import _signal as _impl
except ImportError:  # not CPython: the public module has the same functions
    import signal as _impl

SIG_BLOCK = _impl.SIG_BLOCK
SIG_SETMASK = _impl.SIG_SETMASK
SIG_DFL = _impl.SIG_DFL
SIG_IGN = _impl.SIG_IGN
SIGCHLD = _impl.SIGCHLD
SIGKILL = _impl.SIGKILL
SIGSTOP = _impl.SIGSTOP
SIGTERM = _impl.SIGTERM
SIGRTMIN = _impl.SIGRTMIN
# Synchronous signals: they report a fault in the process that gets them.
SYNCHRONOUS = frozenset((_impl.SIGFPE, _impl.SIGILL, _impl.SIGSEGV, _impl.SIGBUS, _impl.SIGABRT,
                         _impl.SIGTRAP, _impl.SIGSYS))

pthread_sigmask = _impl.pthread_sigmask
sigtimedwait = _impl.sigtimedwait
set_handler = _impl.signal
get_handler = _impl.getsignal
pidfd_send_signal = _impl.pidfd_send_signal


def valid_signals():
    return set(int(signum) for signum in _impl.valid_signals())


_NUMBERS = dict((name, int(getattr(_impl, name))) for name in dir(_impl)
                if name.startswith("SIG") and not name.startswith("SIG_") and name not in ("SIGRTMIN", "SIGRTMAX"))
# Aliases (SIGIOT, SIGPOLL, SIGCLD) lose to the usual name when naming a number.
_NAMES = dict((number, name) for name, number in sorted(_NUMBERS.items(), key=lambda item: item[0] in (
    "SIGIOT", "SIGPOLL", "SIGCLD"), reverse=True))


def number(name):
    """'SIGTERM' -> 15. KeyError for an unknown name."""
    return _NUMBERS[name]


def name_of(signum):
    """15 -> 'SIGTERM'. KeyError for a number with no name."""
    return _NAMES[signum]

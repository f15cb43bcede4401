"""Make the collection importable as ansible_collections.nsfleet.pidns from the source tree."""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ROOT = os.path.join(TOP, ".build", "import-root")
_LINK = os.path.join(_ROOT, "ansible_collections", "nsfleet", "pidns")

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(TOP, _LINK)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

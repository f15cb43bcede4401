"""Stand-in for pip's get-pip.py, for ansible-test on machines without internet.

ansible-test bootstraps pip in its sanity venvs by running get-pip.py from a
cache. This does the same job from the standard library's bundled pip, then
installs what ansible-test asked for (the package index stays reachable).
"""

import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the install
# below must see the machine's pip configuration (index, certificates).
environment = dict(os.environ)
ensurepip.bootstrap()
requested = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + requested, env=environment)

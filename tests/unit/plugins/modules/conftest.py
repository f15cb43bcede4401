"""The modules' tests drive them against the fake executor that the module_utils' tests use."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))

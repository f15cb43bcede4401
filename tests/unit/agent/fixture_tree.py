"""What the fixture /proc tree holds (tests/fixtures/proc/nested), and what NS_GET_PARENT would say of it."""

import os

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures")
HOST_NS, CHILD_NS, GRANDCHILD_NS = 4026531836, 4026532201, 4026532305
# What NS_GET_PARENT would answer for the fixture tree.
FIXTURE_PARENTS = {CHILD_NS: HOST_NS, GRANDCHILD_NS: CHILD_NS}


def fixture_parent_of(ns_path):
    target = os.readlink(ns_path)
    return FIXTURE_PARENTS.get(int(target[target.index("[") + 1:-1]))

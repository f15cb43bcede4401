"""Grouping a scan by PID namespace: counts, level, init, and parents asked once per namespace."""

from nsfleet_agent.sources.pidns_tree import NamespaceTree
from nsfleet_agent.sources.proc_scan import ProcessTable

from fixture_tree import CHILD_NS, GRANDCHILD_NS, HOST_NS, fixture_parent_of


def test_counts_levels_inits_and_parents(proc_root):
    table = ProcessTable(proc_root)
    namespaces = NamespaceTree(proc_root, fixture_parent_of).group(table.scan())
    child = namespaces[CHILD_NS]
    assert (child.processes, child.threads, child.zombies, child.level, child.init_host_pid) == (3, 6, 1, 1, 200)
    assert (namespaces[GRANDCHILD_NS].level, namespaces[GRANDCHILD_NS].parent) == (2, CHILD_NS)
    assert namespaces[HOST_NS].parent is None and child.parent == HOST_NS
    table.close()


def test_a_parent_is_asked_once_while_its_namespace_lives(proc_root):
    asked = []

    def parent_of(ns_path):
        asked.append(ns_path)
        return fixture_parent_of(ns_path)

    table = ProcessTable(proc_root)
    tree = NamespaceTree(proc_root, parent_of)
    tree.group(table.scan())
    tree.group(table.scan())
    assert len(asked) == 3
    table.close()

"""The PID namespace tree from a scan: members, counts, nesting, init, and the parent (NS_GET_PARENT)."""

import errno
import fcntl
import os

# NS_GET_PARENT = _IO(0xb7, 0x2): a file descriptor for the parent of a PID namespace.
NS_GET_PARENT = 0xB702


def parent_by_ioctl(ns_path):
    """Inode of the parent of the PID namespace at ``ns_path``; None at the top we may see."""
    try:
        fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        parent_fd = fcntl.ioctl(fd, NS_GET_PARENT)
    except OSError as error:
        if error.errno in (errno.EPERM, errno.ENOTTY, errno.EINVAL, errno.ENOSYS):
            return None
        raise
    finally:
        os.close(fd)
    try:
        return os.fstat(parent_fd).st_ino
    finally:
        os.close(parent_fd)


class Namespace:
    """One PID namespace as seen in one scan."""

    __slots__ = ("inode", "processes", "threads", "zombies", "cpu_ticks", "rss_pages", "level", "init_host_pid",
                 "parent", "members")

    def __init__(self, inode):
        self.inode = inode
        self.processes = 0
        self.threads = 0
        self.zombies = 0
        self.cpu_ticks = 0  # summed over its processes, see Process
        self.rss_pages = 0
        self.level = 0
        self.init_host_pid = None
        self.parent = None
        self.members = []


class NamespaceTree:
    """Groups a scan by PID namespace. Parents are cached while a namespace lives.

    ``parent_of(ns_path)`` is injectable so fixture /proc trees can say what
    the kernel would.
    """

    def __init__(self, proc_root="/proc", parent_of=parent_by_ioctl):
        self.proc_root = proc_root
        self.parent_of = parent_of
        self.parents = {}

    def group(self, scan):
        namespaces = {}
        for process in scan.processes:
            namespace = namespaces.get(process.pidns)
            if namespace is None:
                namespace = namespaces[process.pidns] = Namespace(process.pidns)
                namespace.level = len(process.nspid) - 1
            namespace.processes += 1
            namespace.threads += process.threads
            namespace.cpu_ticks += process.cpu_ticks
            namespace.rss_pages += process.rss_pages
            if process.state == "Z":
                namespace.zombies += 1
            if process.nspid[-1] == 1:
                namespace.init_host_pid = process.pid
            namespace.members.append(process)
        # A namespace inode can be reused once its namespace is gone: forget those.
        self.parents = dict((inode, parent) for inode, parent in self.parents.items() if inode in namespaces)
        for namespace in namespaces.values():
            if namespace.inode in self.parents:
                namespace.parent = self.parents[namespace.inode]
                continue
            sample = namespace.members[0].pid
            namespace.parent = self.parent_of("%s/%d/ns/pid" % (self.proc_root, sample))
            # None means "the top", or that the sample just vanished: only the first is worth keeping.
            if namespace.parent is not None or namespace.inode == scan.own_pidns:
                self.parents[namespace.inode] = namespace.parent
        return namespaces

"""Paths resolved inside a root never leave it: openat2 and the walk that stands in for it agree."""

import errno
import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.security import paths


@pytest.fixture
def tree(tmp_path):
    """A root with symlinks that try to get out, and a host directory beside it."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "marker").write_text("inside")
    host = tmp_path / "host"
    host.mkdir()
    (host / "marker").write_text("host")
    os.symlink("/etc", str(root / "absolute"))        # means <root>/etc
    os.symlink("../../etc", str(root / "dotdot"))     # .. stops at the root
    os.symlink(str(host), str(root / "to-host"))      # a host path, read inside the root
    os.symlink("loop", str(root / "loop"))
    return root, host


def _resolve(resolver, root, path, create=None):
    root_fd = paths.open_root(str(root))
    try:
        fd = resolver(root_fd, path, create)
        try:
            return os.readlink(paths.fd_path(fd))
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)


RESOLVERS = [paths.open_in_root, paths.walk_in_root]


@pytest.mark.parametrize("resolver", RESOLVERS, ids=["openat2", "walk"])
@pytest.mark.parametrize("path, inside", [
    ("/absolute/marker", "etc/marker"),
    ("/dotdot/marker", "etc/marker"),
    ("/../../etc/marker", "etc/marker"),
    ("etc/./marker", "etc/marker"),
])
def test_symlinks_and_dotdot_stay_inside(tree, resolver, path, inside):
    root, _host = tree
    assert _resolve(resolver, root, path) == os.path.join(str(root), inside).rstrip("/")


@pytest.mark.parametrize("resolver", RESOLVERS, ids=["openat2", "walk"])
def test_a_host_path_in_a_symlink_is_read_inside_the_root(tree, resolver):
    root, host = tree
    with pytest.raises(FileNotFoundError):
        _resolve(resolver, root, "/to-host/marker")
    created = _resolve(resolver, root, "/to-host/new/dir", create="dir")
    assert created == os.path.join(str(root), str(host).lstrip("/"), "new", "dir")
    assert sorted(os.listdir(str(host))) == ["marker"]


@pytest.mark.parametrize("resolver", RESOLVERS, ids=["openat2", "walk"])
def test_symlink_loops_end(tree, resolver):
    root, _host = tree
    with pytest.raises(OSError) as raised:
        _resolve(resolver, root, "/loop/x")
    assert raised.value.errno == errno.ELOOP


def test_create_file_makes_parents_and_an_empty_file(tree):
    root, _host = tree
    created = _resolve(paths.walk_in_root, root, "/var/run/app.sock", create="file")
    assert created == os.path.join(str(root), "var", "run", "app.sock")
    assert os.path.isfile(created) and os.path.getsize(created) == 0


def test_a_file_in_the_middle_is_not_a_directory(tree):
    root, _host = tree
    with pytest.raises(OSError) as raised:
        _resolve(paths.walk_in_root, root, "/etc/marker/below", create="dir")
    assert raised.value.errno == errno.ENOTDIR

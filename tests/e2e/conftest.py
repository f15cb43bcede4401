"""End to end: ansible-playbook over real SSH to an sshd started on loopback."""

import os
import shutil
import subprocess

import pytest
from support import free_port, wait_listening

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(TOP, ".venv", "bin")
COLLECTIONS = os.path.join(TOP, ".build", "collections")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


class SshHost:
    """An sshd on 127.0.0.1 that lets root in with a throwaway key."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        self.key = os.path.join(directory, "client_key")
        self.process = None

    def start(self):
        host_key = os.path.join(self.directory, "host_key")
        for key in (host_key, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        authorized = os.path.join(self.directory, "authorized_keys")
        shutil.copy(self.key + ".pub", authorized)
        config = os.path.join(self.directory, "sshd_config")
        with open(config, "w") as config_file:
            config_file.write("\n".join([
                "Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey %s" % host_key,
                "AuthorizedKeysFile %s" % authorized, "PermitRootLogin prohibit-password",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "PidFile %s" % os.path.join(self.directory, "sshd.pid"), "Subsystem sftp internal-sftp", ""]))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", config],
                                        stderr=open(os.path.join(self.directory, "sshd.log"), "w"))
        if not wait_listening(self.port, self.process, timeout=15):
            raise RuntimeError("sshd did not start: %s" % open(os.path.join(self.directory, "sshd.log")).read())

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def inventory(self, path):
        with open(path, "w") as inventory:
            inventory.write(
                "[targets]\ntarget ansible_host=127.0.0.1 ansible_port=%d ansible_user=root "
                "ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3 "
                "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
                % (self.port, self.key))
        return path


@pytest.fixture(scope="session")
def ssh_host(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the end-to-end tests need root: they start sshd and create namespaces")
    host = SshHost(str(tmp_path_factory.mktemp("sshd")))
    host.start()
    yield host
    host.stop()


@pytest.fixture
def playbook(ssh_host, tmp_path):
    """Run a playbook against the SSH target; returns the CompletedProcess."""
    inventory = ssh_host.inventory(str(tmp_path / "inventory"))

    def run(path, extra_vars=None, check=True):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_ROLES_PATH=os.path.join(TOP, "tests", "integration", "targets"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default")
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, path]
        for key, value in (extra_vars or {}).items():
            argv += ["-e", "%s=%s" % (key, value)]
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
        if check and result.returncode != 0:
            raise AssertionError("ansible-playbook %s failed:\n%s\n%s" % (path, result.stdout[-20000:],
                                                                          result.stderr[-5000:]))
        return result

    return run

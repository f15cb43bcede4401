# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``workload_exec`` does: one ``nsfleet exec --json`` on the host, read as ansible.builtin.command reads a run.

Private to the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorError, NoSuchWorkload

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    command=dict(type="list", elements="str", required=True),
    user=dict(type="str"),
    env=dict(type="dict", default={}),
    cwd=dict(type="str"),
    stdin=dict(type="str"),
    stdin_add_newline=dict(type="bool", default=True),
    timeout=dict(type="float"),
    creates=dict(type="str"),
    removes=dict(type="str"),
    state_dir=dict(type="path", default="/"),
)


def exec_arguments(params, check_mode):
    """``nsfleet exec``'s argv for the module's params."""
    args = ["exec", "--json"]
    for option in ("user", "cwd", "creates", "removes"):
        if params[option] not in (None, ""):
            args += ["--" + option, params[option]]
    if params["timeout"] is not None:
        args += ["--timeout", repr(params["timeout"])]
    for key, value in sorted((params["env"] or {}).items()):
        args += ["--env", "%s=%s" % (key, value)]
    if params["stdin"] is None:
        args.append("--no-stdin")
    if check_mode:
        args.append("--check")
    return args + [params["name"], "--"] + list(params["command"])


def stdin_text(params):
    if params["stdin"] is None:
        return None
    return params["stdin"] + ("\n" if params["stdin_add_newline"] else "")


def run(module, client):
    """Run the command; exit_json / fail_json as ansible.builtin.command would."""
    params = module.params
    if not params["command"] or not params["command"][0]:
        module.fail_json(msg="command: give the command as a non-empty list of arguments")
    try:
        result = client.call(exec_arguments(params, module.check_mode), stdin_text=stdin_text(params))
    except NoSuchWorkload as error:
        module.fail_json(msg="name: %s" % error)
    except ExecutorError as error:
        module.fail_json(msg=str(error))
    # As ansible.builtin.command: the trailing newline goes, the lines stay.
    stdout, stderr = result["stdout"].rstrip("\r\n"), result["stderr"].rstrip("\r\n")
    result = dict(result, stdout=stdout, stderr=stderr, stdout_lines=stdout.splitlines(),
                  stderr_lines=stderr.splitlines())
    # No "skipped" key: Ansible would then not evaluate changed_when and failed_when.
    if result.pop("skipped", False):
        module.exit_json(changed=False, **dict(result, msg="did not run: " + result["msg"]))
    if module.check_mode:
        # Nothing ran: no rc (Ansible takes a non-zero or null rc for a failure), no PIDs, no times.
        module.exit_json(changed=True, **dict((key, value) for key, value in result.items() if value is not None))
    if result["timed_out"]:
        message = "timed out after %s seconds: everything the command started was killed" % params["timeout"]
        module.fail_json(changed=True, **dict(result, msg=message))
    if result["rc"] != 0:
        module.fail_json(changed=True, **dict(result, msg=result["error"] or "non-zero return code"))
    module.exit_json(changed=True, **dict(result, msg=""))

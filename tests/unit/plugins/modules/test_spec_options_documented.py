"""The executor's table of spec fields and the modules' DOCUMENTATION say the same thing."""

import pytest
import yaml

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec import schema
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec import validate
from ansible_collections.nsfleet.pidns.plugins.modules import workload, workloads

MODULES_WITH_SPEC_OPTIONS = [workload, workloads]


def _documented_options(module):
    """The options that carry the spec fields: the module's own, or each list item's (the batch module)."""
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    if module is workloads:
        return options["workloads"]["suboptions"]
    return options


def _check_option(path, field, documented):
    assert documented is not None, "%s: in the spec table, missing from DOCUMENTATION" % path
    assert documented.get("type", "str") == field.type, path
    assert documented.get("elements") == field.elements, path
    assert documented.get("choices") == (list(field.choices) if field.choices else None), path
    assert documented.get("default") == field.module_default, path
    assert bool(documented.get("required")) == field.required, path
    assert documented.get("description"), "%s: needs a description" % path
    suboptions = documented.get("suboptions") or {}
    assert set(suboptions) == set(sub.name for sub in field.options or ()), path
    for sub in field.options or ():
        _check_option("%s.%s" % (path, sub.name), sub, suboptions.get(sub.name))


@pytest.mark.parametrize("module", MODULES_WITH_SPEC_OPTIONS, ids=lambda module: module.__name__.rpartition(".")[2])
def test_every_spec_field_is_documented_as_the_table_says(module):
    options = _documented_options(module)
    for field in schema.FIELDS:
        _check_option(field.name, field, options.get(field.name))


def test_every_spec_field_has_a_validator():
    for field in schema.FIELDS:
        assert callable(getattr(validate._Validator, field.name, None)), field.name


def test_every_namespace_kind_can_be_made_or_is_refused():
    from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime.namespaces import CLONE_FLAGS
    for kind in schema.NAMESPACE_KINDS:
        assert kind.name in CLONE_FLAGS
        assert set(kind.values) <= set(schema.ALL_NAMESPACE_VALUES)
        assert kind.refused or set(kind.values) == set(schema.ALL_NAMESPACE_VALUES), kind.name


def test_a_field_added_to_the_table_without_documentation_fails(monkeypatch):
    extra = schema.Field("future_option", "bool", default=False, module_default=False)
    monkeypatch.setattr(schema, "FIELDS", schema.FIELDS + (extra,))
    with pytest.raises(AssertionError, match="future_option"):
        test_every_spec_field_is_documented_as_the_table_says(workload)


def test_the_batch_module_takes_what_the_single_module_takes():
    single = _documented_options(workload)
    batch = _documented_options(workloads)
    assert set(batch) == set(single)
    for option in ("state", "recreate"):
        assert {key: batch[option].get(key) for key in ("type", "choices", "default")} == {
            key: single[option].get(key) for key in ("type", "choices", "default")}, option


def test_module_argument_spec_is_the_table():
    argument_spec = schema.module_argument_spec()
    assert set(argument_spec) == set(schema.KNOWN_KEYS)
    assert argument_spec["mounts"]["options"]["type"] == {"type": "str", "choices": ["bind", "tmpfs"], "default": "bind"}

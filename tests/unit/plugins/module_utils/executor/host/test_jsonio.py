"""host.jsonio writes what json.dumps writes and reads what json.loads reads, without importing json."""

import json
import math
import subprocess
import sys

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import jsonio

DOCUMENTS = [
    {"status": "running", "init": {"pid": 12, "start_time": 345}, "namespaces": {}, "processes": [],
     "exit_code": None, "oom_killed": False, "restart_count": 0, "cpus": 0.5, "big": 12345678901234567890},
    {"text": "\u00e9t\u00e9 \"quoted\" back\\slash\ttab\nnewline \u0001 \ud83d\ude00", "empty": ""},
    [], {}, [[[]], {}], "plain", 0, -1, 2.5, 1e300, -0.0, None, True, False,
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("indent", [None, 1, 2])
@pytest.mark.parametrize("sort_keys", [False, True])
def test_the_same_text_as_json_dumps(document, indent, sort_keys):
    assert jsonio.dumps(document, indent=indent, sort_keys=sort_keys) == json.dumps(document, indent=indent,
                                                                                    sort_keys=sort_keys)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_reads_back_what_it_wrote(document):
    text = "\n " + jsonio.dumps(document, indent=1) + " \n"
    assert jsonio.loads(text) == json.loads(text)


def test_non_finite_numbers_as_json_has_them():
    assert jsonio.dumps([math.inf, -math.inf]) == "[Infinity, -Infinity]"
    assert math.isnan(jsonio.loads("NaN"))


@pytest.mark.parametrize("text", ["", "  ", "{", "[1,]", "1 2", "nul", '{"a": 1}x', "{'a': 1}"])
def test_what_is_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        jsonio.loads(text)


def test_what_json_cannot_write_is_a_type_error():
    with pytest.raises(TypeError):
        jsonio.dumps({"a": object()})
    with pytest.raises(TypeError):
        jsonio.dumps({1: "a key json would turn into a string"})


def test_it_imports_neither_json_nor_re():
    probe = ("import sys; path = sys.argv[1]; ns = {}; exec(compile(open(path).read(), path, 'exec'), ns); "
             "ns['loads'](ns['dumps']({'a': [1]}, indent=1)); print('json' in sys.modules, 're' in sys.modules)")
    found = subprocess.run([sys.executable, "-IS", "-c", probe, jsonio.__file__], capture_output=True, text=True,
                           check=True).stdout.split()
    assert found == ["False", "False"]

"""Disassembling: the round trip of stdlib modules, and hostile .pyc data."""

import builtins
import importlib.util
import marshal
import random
import resource
import sys
import types
import warnings

import pytest

import pyasm
from support import HOST, REPO

sys.path.insert(0, str(REPO / "tools" / "roundtrip"))
import compare  # noqa: E402  (the stdlib round trip's field-by-field comparison)

MODULES = ["textwrap", "json.decoder", "string"]


def source_of(module):
    spec = importlib.util.find_spec(module)
    with open(spec.origin, encoding="utf-8") as f:
        return spec.origin, f.read()


def assert_equal_code(ours, theirs):
    differences = []
    compare.compare(ours, theirs, "<module>", differences)
    assert not differences, "\n".join(differences[:10])


def reassembled(how, text):
    """``how(text)``, allowing only the warning that 3.6–3.10's compilers earn: they leave jumps
    that nothing reaches, which pyasm points out (W0301)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = how(text)
    assert all(d.code == "W0301" for w in caught for d in w.message.diagnostics), [str(w.message) for w in caught]
    return result


@pytest.mark.parametrize("module", MODULES)
def test_disassemble_then_assemble_a_stdlib_module_gives_equal_code(module):
    path, source = source_of(module)
    original = builtins.compile(source, path, "exec", dont_inherit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a field the text does not reproduce would warn
        text = pyasm.disassemble(original)
    assert text.splitlines()[1] == ".python " + HOST
    assert_equal_code(reassembled(pyasm.compile, text), original)


def pyc_of(module):
    path, source = source_of(module)
    code = builtins.compile(source, path, "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + b"\0" * 8 + marshal.dumps(code)


def test_a_pycs_bytes_disassemble_and_assemble_back():
    pyc = pyc_of("textwrap")
    text = pyasm.disassemble(pyc)
    again = reassembled(pyasm.assemble, text)
    assert_equal_code(marshal.loads(again[16:]), marshal.loads(pyc[16:]))
    # Marshalled code alone (no header) is read as the running version's.
    assert pyasm.disassemble(pyc[16:]) == text


def test_a_function_code_object_comes_back_inside_a_module():
    def f(a, b=1):
        return [a * x for x in range(b)]

    text = pyasm.disassemble(f.__code__)
    assert_equal_code(pyasm.compile(text).co_consts[0], f.__code__)


def test_a_pyc_of_another_version():
    pyc = pyasm.assemble(".code <module>\n LOAD_CONST None\n RETURN_VALUE\n.end\n", python="3.8")
    assert pyasm.disassemble(pyc).splitlines()[1] == ".python 3.8"


def memory_peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def test_a_truncated_pyc_raises_with_the_offset():
    pyc = pyc_of("string")
    for cut in (3, 10, 17, len(pyc) // 2, len(pyc) - 1):
        with pytest.raises(pyasm.DisassemblyError) as info:
            pyasm.disassemble(pyc[:cut])
        e = info.value
        assert e.offset is not None and 0 <= e.offset <= cut, (cut, e.offset, e.message)
        assert str(e).startswith("at byte %d (0x%x): " % (e.offset, e.offset))
        assert isinstance(e, ValueError)


def test_a_reference_bomb_raises_without_expanding():
    # Forty levels of a pair of references to the level below: 2**40 leaves when copied, a
    # few hundred bytes as written. pyasm's tree copies references, and refuses once the
    # copies exceed its budget. (The bytes are spliced together rather than made from a code
    # object: CPython's own code constructor walks such constants without sharing, for ever.)
    t = ()
    for _ in range(40):
        t = (t, t)
    marker = "pyasm-bomb-placeholder"
    plain = builtins.compile("x = 1", "<bomb>", "exec", dont_inherit=True)
    code = marshal.dumps(plain.replace(co_consts=(marker,) + plain.co_consts[1:]), 2)  # version 2: no references
    assert code.count(marshal.dumps(marker, 2)) == 1
    pyc = importlib.util.MAGIC_NUMBER + b"\0" * 12 + code.replace(marshal.dumps(marker, 2), marshal.dumps(t, 4))
    assert len(pyc) < 1000
    before = memory_peak()
    with pytest.raises(pyasm.DisassemblyError) as info:
        pyasm.disassemble(pyc)
    assert 16 <= info.value.offset < len(pyc)
    assert "references would expand" in info.value.message
    assert memory_peak() - before < 256 << 20


def test_random_bytes_raise_and_never_crash():
    rng = random.Random(14)
    header = importlib.util.MAGIC_NUMBER + b"\0" * 12
    for n in range(300):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        for data in (body, header + body, header + b"\xe3" + body):
            # Anything but this error (another exception, a crash) fails the test.
            with pytest.raises(pyasm.DisassemblyError) as info:
                pyasm.disassemble(data)
            assert info.value.offset is None or 0 <= info.value.offset <= len(data)


def test_not_bytes_is_a_type_error():
    with pytest.raises(TypeError):
        pyasm.disassemble("not bytes")  # type: ignore[arg-type]

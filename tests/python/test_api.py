"""The Python API against the installed wheel: assembling, compiling, assembly functions,
diagnostics and errors."""

import inspect
import io
import marshal
import os
import subprocess
import sys
import types
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import pyasm
from support import ARITHMETIC, CLOSURE, GLOBALS, HOST, MODULE, REPO, RUST_BIN, example_for_host, for_host

OFFSET = 100  # read by the GLOBALS body through the function's globals


@pytest.mark.skipif(not os.environ.get("PYASM_TEST_WHEEL"), reason="run by hand (tests/python_package.rs sets PYASM_TEST_WHEEL)")
def test_the_installed_package_is_tested():
    # Not the checkout's python/pyasm (as `maturin develop` leaves it): the wheel's.
    assert "site-packages" in Path(pyasm.__file__).parts, pyasm.__file__
    assert Path(pyasm._pyasm.__file__).name.endswith(".abi3.so")
    assert (Path(pyasm.__file__).parent / "py.typed").exists()
    assert (Path(pyasm.__file__).parent / "_pyasm.pyi").exists()


def test_versions_include_the_running_one():
    vs = pyasm.versions()
    assert vs[0] == "3.6" and HOST in vs
    assert vs == sorted(vs, key=lambda v: tuple(map(int, v.split("."))))


def readme_hello():
    """The README's example program, from its "The format in brief" block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```\n# examples/hello.pyasm\n", 1)[1].split("```", 1)[0]
    return "# examples/hello.pyasm\n" + block


def test_the_readmes_hello_example_through_the_api(tmp_path):
    source = readme_hello()
    pyc = pyasm.assemble(source, python="3.11", filename="hello.pyasm")
    assert pyc[:4] == (3495).to_bytes(2, "little") + b"\r\n"  # 3.11's magic number
    path = tmp_path / "hello.pyc"
    path.write_bytes(pyc)
    # Run by the CPython 3.11 the wheel's `pyasm python` finds (native, else pyodide).
    out = subprocess.run([sys.executable, "-m", "pyasm", "python", "3.11", str(path)], capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "hello, world\n"), out.stderr
    # The same bytes as the command makes of the same text (after the header's mtime).
    (tmp_path / "hello.pyasm").write_text(source)
    cli = subprocess.run([RUST_BIN, "hello.pyasm", "--python", "3.11", "-o", "cli.pyc"], cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert (tmp_path / "cli.pyc").read_bytes()[12:] == pyc[12:]


def test_compile_and_exec_the_hello_example_for_this_version():
    example = example_for_host("hello")
    code = pyasm.compile(example.read_text(encoding="utf-8"))
    assert isinstance(code, types.CodeType)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(code, {})
    assert out.getvalue() == example.with_suffix(".out").read_text(encoding="utf-8")


def test_compile_sets_globals():
    namespace = {}
    exec(pyasm.compile(for_host(MODULE)), namespace)
    assert namespace["answer"] == 42


def test_compile_refuses_a_source_for_another_version():
    other = "3.6" if HOST != "3.6" else "3.7"
    with pytest.raises(ValueError, match="running interpreter, Python %s" % HOST):
        pyasm.compile(".python %s\n.code <module>\n LOAD_CONST None\n RETURN_VALUE\n.end\n" % other)


def test_assemble_defaults_to_the_running_version():
    pyc = pyasm.assemble(for_host(MODULE))
    import importlib.util

    assert pyc[:4] == importlib.util.MAGIC_NUMBER


def test_a_decorated_assembly_function_is_called_with_arguments(tmp_path):
    # The body differs per version, so the stub is written out and imported as a module.
    module = tmp_path / "asm_functions.py"
    module.write_text(
        "import pyasm\n"
        "OFFSET = 100\n"
        "@pyasm.function\n"
        "def scaled_sum(a, b=2, *, scale=10):\n"
        '    r"""%s    """\n'
        "@pyasm.function\n"
        "def length_plus_offset(x):\n"
        '    r"""%s    """\n' % (for_host(ARITHMETIC), for_host(GLOBALS)),
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import asm_functions as m
    finally:
        sys.path.remove(str(tmp_path))
    f = m.scaled_sum
    assert isinstance(f, types.FunctionType)
    assert f(1) == 30
    assert f(1, 3) == 40
    assert f(1, 3, scale=2) == 8
    assert f(a=4, scale=1) == 6
    with pytest.raises(TypeError):
        f(1, 2, 3)  # scale is keyword-only
    assert str(inspect.signature(f)) == "(a, b=2, *, scale=10)"
    assert (f.__name__, f.__qualname__, f.__module__) == ("scaled_sum", "scaled_sum", "asm_functions")
    assert f.__code__.co_filename == str(module)
    # Globals are the defining module's.
    assert m.length_plus_offset("abcd") == 104
    m.OFFSET = 1
    assert m.length_plus_offset("abcd") == 5


def test_a_decorated_closure_reads_the_enclosing_variable(tmp_path):
    module = tmp_path / "asm_closure.py"
    module.write_text(
        "import pyasm\n"
        "def adder(n):\n"
        "    @pyasm.function\n"
        "    def add(x):\n"
        '        r"""%s        """\n'
        "        nonlocal n\n"
        "    return add\n" % for_host(CLOSURE),
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import asm_closure
    finally:
        sys.path.remove(str(tmp_path))
    add5, add7 = asm_closure.adder(5), asm_closure.adder(7)
    assert (add5(1), add7(1)) == (6, 8)
    assert add5.__code__.co_freevars == ("n",)
    assert add5.__qualname__ == "adder.<locals>.add"


def test_a_traceback_inside_an_assembly_function_shows_its_docstring_line(tmp_path):
    body = for_host(ARITHMETIC)
    module = tmp_path / "asm_raise.py"
    module.write_text(
        "import pyasm\n@pyasm.function\ndef scaled_sum(a, b=2, *, scale=10):\n    r\"\"\"%s    \"\"\"\n" % body,
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import asm_raise
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(TypeError) as info:
        asm_raise.scaled_sum("x", 1)  # "x" + 1
    frame = info.traceback[-1]
    # The add instruction's line in the .py file: the docstring opens on line 4.
    add_line = 4 + next(i for i, line in enumerate(body.split("\n")) if "ADD" in line or "BINARY_OP +" in line)
    assert (Path(str(frame.path)), frame.lineno + 1) == (module, add_line)


def test_a_function_from_a_source_string_with_a_helper():
    body = for_host(ARITHMETIC)
    source = ".code scaled_sum(a, b, *, scale)\n" + body + ".end\n"
    f = pyasm.function(source, defaults=(2,), kwdefaults={"scale": 10})
    assert (f(1), f(1, 3, scale=2)) == (30, 8)
    g = pyasm.function(".code add(x)\n" + for_host(CLOSURE) + "    .freevars n\n.end\n", closure=(40,))
    assert g(2) == 42
    with pytest.raises(ValueError, match="several code objects"):
        pyasm.function(source + source.replace("scaled_sum", "other"))
    with pytest.raises(ValueError, match="module"):
        pyasm.function(for_host(MODULE))


def test_a_function_body_for_another_version_says_which_version_runs(tmp_path):
    # BINARY_ADD is 3.6–3.10's; BINARY_OP 3.11+'s: whichever this version lacks.
    wrong = "BINARY_OP +" if sys.version_info < (3, 11) else "BINARY_ADD"
    with pytest.raises(pyasm.AssemblyError) as info:
        pyasm.function(".code f(a, b)\n LOAD_FAST a\n LOAD_FAST b\n %s\n RETURN_VALUE\n.end\n" % wrong)
    assert "Python %s" % HOST in str(info.value)


BAD = """\
.python 3.11
.code <module>
    RESUME 0
    LOAD_CONST None
    RETURN_VALUE
.end
.code f(total)
    RESUME 0
    LOAD_FAST totl
    LOAD_FST total
    RETURN_VALUE
.end
"""


def test_an_errors_diagnostics_field_by_field(tmp_path):
    with pytest.raises(pyasm.AssemblyError) as info:
        pyasm.assemble(BAD, filename="bad.pyasm")
    e = info.value
    assert isinstance(e, SyntaxError)
    first, second = e.diagnostics
    assert (first.severity, first.code, first.file, first.line, first.column, first.end_line, first.end_column) == (
        "error", "E0107", "bad.pyasm", 9, 15, 9, 19)
    assert first.message == "`totl` is not a declared variable of this code object"
    assert first.help == ("did you mean `total`?",)
    assert first.notes == ()
    assert first.suggestions == (pyasm.Suggestion("total", pyasm.Span("bad.pyasm", 9, 15, 9, 19)),)
    assert first.labels == (pyasm.Label(True, "unknown variable", pyasm.Span("bad.pyasm", 9, 15, 9, 19)),)
    assert (second.code, second.line, second.column, second.end_column) == ("E0101", 10, 5, 13)
    assert [s.replacement for s in second.suggestions] == ["LOAD_FAST"]
    # SyntaxError's own fields are the first error's, for tracebacks.
    assert (e.filename, e.lineno, e.offset, e.text, e.end_lineno, e.end_offset) == (
        "bad.pyasm", 9, 15, "    LOAD_FAST totl", 9, 19)
    # str() is the rendering, the same text the command prints.
    assert str(e) == first.rendered + second.rendered
    path = tmp_path / "bad.pyasm"
    path.write_text(BAD)
    cli = subprocess.run([RUST_BIN, "check", "bad.pyasm", "--color", "never"], cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 1
    assert cli.stderr == str(e) + "error: bad.pyasm not assembled: 2 errors\n"


def test_check_returns_diagnostics_without_raising():
    diags = pyasm.check(BAD)
    assert [d.code for d in diags] == ["E0107", "E0101"]
    assert pyasm.check(for_host(MODULE)) == []


def test_warnings_are_python_warnings():
    source = for_host(MODULE).replace("    RETURN_VALUE\n", "    RETURN_VALUE\n    LOAD_CONST 1\n    RETURN_VALUE\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pyasm.assemble(source)
    assert [w.category for w in caught] == [pyasm.AssemblyWarning]
    (d,) = caught[0].message.diagnostics
    assert (d.severity, d.code) == ("warning", "W0301")
    assert caught[0].filename == __file__  # points at the call, not into pyasm


def test_source_that_is_not_utf8_is_diagnosed(tmp_path):
    path = tmp_path / "latin1.pyasm"
    path.write_bytes(b".code <module>\n LOAD_CONST '\xe9'\n.end\n")
    with pytest.raises(pyasm.AssemblyError) as info:
        pyasm.assemble_files([path])
    (d,) = info.value.diagnostics
    assert (d.code, d.line, d.column) == ("E0001", 2, 14)


def test_assemble_files_links_files_like_the_command(tmp_path):
    # main.pyasm loads a code object that six.pyasm defines.
    main = for_host(MODULE).replace("    STORE_NAME answer\n", "    STORE_NAME answer\n    LOAD_CONST @six\n    STORE_NAME six_code\n")
    (tmp_path / "main.pyasm").write_text(main)
    six = for_host({"3.8": "    LOAD_CONST 6\n    RETURN_VALUE\n", "3.11": "    RESUME 0\n    LOAD_CONST 6\n    RETURN_VALUE\n"})
    (tmp_path / "six.pyasm").write_text(".code six()\n" + six + ".end\n")
    paths = [tmp_path / "main.pyasm", tmp_path / "six.pyasm"]
    pyc = pyasm.assemble_files(paths)
    out = tmp_path / "cli.pyc"
    cli = subprocess.run([RUST_BIN, *map(str, paths), "-o", str(out)], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert out.read_bytes() == pyc  # the header (mtime, size) included
    namespace = {}
    exec(marshal.loads(pyc[16:]), namespace)
    assert namespace["answer"] == 42
    assert namespace["six_code"].co_name == "six"


def test_explain_and_instructions():
    text = pyasm.explain("load_fast", "3.11")
    assert text.startswith("LOAD_FAST")
    cli = subprocess.run([RUST_BIN, "explain", "load_fast", "--python", "3.11"], capture_output=True, text=True)
    assert cli.stdout == text
    with pytest.raises(ValueError, match="LOAD_FAST"):
        pyasm.explain("LOAD_FST", "3.11")
    assert "LOAD_FAST" in pyasm.instructions("3.11")

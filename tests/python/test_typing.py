"""The typing the package ships: the stub of the compiled module names exactly what it has."""

import ast
import inspect
from pathlib import Path

import pyasm
from pyasm import _pyasm


def test_the_stub_lists_every_function_of_the_extension():
    stub = ast.parse((Path(pyasm.__file__).parent / "_pyasm.pyi").read_text(encoding="utf-8"))
    in_stub = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    in_module = {name for name, value in vars(_pyasm).items() if callable(value) and not name.startswith("_")}
    assert in_stub == in_module


def test_every_public_name_is_documented():
    for name in pyasm.__all__:
        obj = getattr(pyasm, name)
        assert inspect.getdoc(obj), name

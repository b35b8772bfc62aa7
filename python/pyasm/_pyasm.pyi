"""The extension module built from the Rust crate (src/python/): plain data in and out; the
public API is the package ``pyasm``."""

from typing import Any, Optional, TypedDict

__version__: str

class _Place(TypedDict):
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

class _Label(TypedDict):
    primary: bool
    message: str
    place: _Place

class _Suggestion(TypedDict):
    replacement: str
    place: _Place

class _Diagnostic(TypedDict):
    severity: str
    code: str
    message: str
    place: Optional[_Place]
    labels: list[_Label]
    notes: list[str]
    help: list[str]
    suggestions: list[_Suggestion]
    rendered: str

class _Assembled(TypedDict):
    pyc: Optional[bytes]
    header_len: int
    version: Optional[str]
    listing: Optional[str]
    diagnostics: list[_Diagnostic]
    rendered: str

class _Disassembled(TypedDict):
    text: Optional[str]
    version: Optional[str]
    mismatches: list[str]
    error: Optional[str]
    offset: Optional[int]

def assemble(
    sources: list[tuple[str, bytes]],
    python: Optional[str] = None,
    default_python: Optional[str] = None,
    mtime: int = 0,
    listing: bool = False,
) -> _Assembled: ...
def disassemble(data: bytes, python: str) -> _Disassembled: ...
def explain(opname: str, python: str) -> str: ...
def instructions(python: str) -> str: ...
def versions() -> list[str]: ...
def code_ids(source: str) -> list[str]: ...
def cli_main(argv: list[str]) -> int: ...

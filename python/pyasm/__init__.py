"""pyasm: an assembler, disassembler and linker for hand-written CPython bytecode.

Assemble a program and run it::

    >>> import pyasm
    >>> source = '''
    ... .python 3.11
    ... .code <module>
    ...     RESUME 0
    ...     LOAD_CONST 42
    ...     RETURN_VALUE
    ... .end
    ... '''
    >>> pyc = pyasm.assemble(source)
    >>> pyc[:4] == (3495).to_bytes(2, "little") + b"\\r\\n"
    True

Functions written in assembly, called like any other (the body is the running interpreter's
bytecode; see docs/python.md)::

    @pyasm.function
    def add(a, b):
        '''
        RESUME 0
        LOAD_FAST a
        LOAD_FAST b
        BINARY_OP +
        RETURN_VALUE
        '''

Mistakes raise :class:`AssemblyError` (a :class:`SyntaxError`) carrying every
:class:`Diagnostic`; unreadable .pyc data raises :class:`DisassemblyError` with the byte offset.
Each call releases the GIL while pyasm works.
"""

from __future__ import annotations

import ast
import builtins
import functools
import linecache
import marshal
import os
import sys
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar, Union, overload

from . import _pyasm

__version__: str = _pyasm.__version__

__all__ = [
    "AssemblyError",
    "AssemblyWarning",
    "Diagnostic",
    "DisassemblyError",
    "DisassemblyWarning",
    "Label",
    "Span",
    "Suggestion",
    "assemble",
    "assemble_files",
    "check",
    "compile",
    "disassemble",
    "explain",
    "function",
    "instructions",
    "main",
    "versions",
]

#: The running interpreter's version, as pyasm writes versions ("3.11").
HOST_VERSION: str = "%d.%d" % sys.version_info[:2]

#: The name a source given as a string has in diagnostics (and, by default, as co_filename).
DEFAULT_FILENAME = "<pyasm>"

StrPath = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------------------------
# Diagnostics and errors


@dataclass(frozen=True)
class Span:
    """A stretch of source text. Lines and columns are 1-based and count characters (not
    bytes); ``end_line``/``end_column`` is the position just after the last character."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def _of(cls, d: Mapping[str, Any]) -> Span:
        return cls(d["file"], d["line"], d["column"], d["end_line"], d["end_column"])


@dataclass(frozen=True)
class Label:
    """A span a diagnostic points at, with its message; the primary one is where the problem is."""

    primary: bool
    message: str
    span: Span


@dataclass(frozen=True)
class Suggestion:
    """A fix: replace the text at ``span`` with ``replacement``. Several on one diagnostic are
    alternatives."""

    replacement: str
    span: Span


@dataclass(frozen=True)
class Diagnostic:
    """One problem pyasm found. ``str()`` is its rendering, as the ``pyasm`` command prints it.

    ``code`` is stable (documented in docs/errors.md); ``file``, ``line``, ``column``,
    ``end_line`` and ``end_column`` are those of the primary label (``None`` when the
    diagnostic points at no text); ``notes`` and ``help`` are the ``= note`` and ``= help``
    lines of the rendering.
    """

    severity: str
    code: str
    message: str
    file: str | None
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None
    notes: tuple[str, ...] = ()
    help: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    labels: tuple[Label, ...] = ()
    rendered: str = field(default="", repr=False, compare=False)

    @classmethod
    def _of(cls, d: Mapping[str, Any]) -> Diagnostic:
        place = d["place"]
        return cls(
            severity=d["severity"],
            code=d["code"],
            message=d["message"],
            file=place["file"] if place else None,
            line=place["line"] if place else None,
            column=place["column"] if place else None,
            end_line=place["end_line"] if place else None,
            end_column=place["end_column"] if place else None,
            notes=tuple(d["notes"]),
            help=tuple(d["help"]),
            suggestions=tuple(Suggestion(s["replacement"], Span._of(s["place"])) for s in d["suggestions"]),
            labels=tuple(Label(lab["primary"], lab["message"], Span._of(lab["place"])) for lab in d["labels"]),
            rendered=d["rendered"],
        )

    def __str__(self) -> str:
        return self.rendered


class AssemblyError(SyntaxError):
    """The source has errors. ``str()`` is the rendered report (every error, as the ``pyasm``
    command prints it) and ``.diagnostics`` holds each :class:`Diagnostic`.

    It is a :class:`SyntaxError`, like what :func:`compile` raises for bad Python: a traceback
    then shows the file, line and text of the first error with a caret, and
    ``except SyntaxError`` catches Python's and pyasm's compile errors alike. Its
    ``filename``, ``lineno``, ``offset``, ``text``, ``end_lineno`` and ``end_offset`` are those
    of the first error.
    """

    diagnostics: list[Diagnostic]

    def __init__(self, rendered: str, diagnostics: Sequence[Diagnostic] = (), texts: Mapping[str, str] | None = None):
        first = next((d for d in diagnostics if d.severity == "error" and d.line is not None), None)
        if first is not None and first.file is not None and first.line is not None:
            text = _line_of(texts or {}, first.file, first.line)
            super().__init__(rendered, (first.file, first.line, first.column, text))
            # Python 3.10+ has these as SyntaxError fields; on 3.9 they are plain attributes.
            self.end_lineno = first.end_line
            self.end_offset = first.end_column
        else:
            super().__init__(rendered)
        self.diagnostics = list(diagnostics)

    def __str__(self) -> str:
        return str(self.msg)


class AssemblyWarning(UserWarning):
    """Warnings from assembling (unreachable code, unused code objects…): the message is the
    rendered report, ``.diagnostics`` each :class:`Diagnostic`."""

    diagnostics: list[Diagnostic]

    def __init__(self, rendered: str, diagnostics: Sequence[Diagnostic] = ()):
        super().__init__(rendered)
        self.diagnostics = list(diagnostics)


class DisassemblyError(ValueError):
    """The data is not a .pyc or marshalled code object that pyasm can read: truncated,
    corrupt or hostile. ``offset`` is the byte offset where reading failed (``None`` when the
    problem is not at a byte: an unsupported version, or code the disassembler cannot express);
    ``message`` says what is wrong there."""

    offset: int | None
    message: str

    def __init__(self, message: str, offset: int | None = None):
        where = "" if offset is None else "at byte %d (0x%x): " % (offset, offset)
        super().__init__(where + message)
        self.message = message
        self.offset = offset


class DisassemblyWarning(UserWarning):
    """The disassembly does not reproduce some field of the code (the message names it)."""


def _user_frame() -> types.FrameType:
    """The innermost frame outside this module: the user's call."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by this module's caller point at the
    user's call, however deep in this module it is issued."""
    level = 1  # the function that calls warn()
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        level, frame = level + 1, frame.f_back
    return level


def _api(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A public function: errors raised deep inside it are raised again from it, so a
    traceback shows the user's call and the error, not this module's helpers."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (AssemblyError, DisassemblyError) as e:
            raise e.with_traceback(None)

    return call


def _line_of(texts: Mapping[str, str], file: str, line: int) -> str | None:
    text = texts.get(file)
    if text is not None:
        lines = text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else None
    try:
        return linecache.getline(file, line) or None
    except (OSError, UnicodeDecodeError):  # 3.9's linecache lets a file that is not UTF-8 raise
        return None


# ---------------------------------------------------------------------------------------------
# Assembling


def versions() -> list[str]:
    """The Python versions pyasm can target, oldest first::

    >>> pyasm.versions()[:2]
    ['3.6', '3.7']
    """
    return _pyasm.versions()


def _run(
    sources: Sequence[tuple[str, str | bytes]],
    python: str | None,
    default_python: str | None,
    *,
    mtime: int = 0,
) -> Mapping[str, Any]:
    """Assembles; raises AssemblyError on errors, issues AssemblyWarning for warnings."""
    encoded = [(name, text.encode("utf-8") if isinstance(text, str) else bytes(text)) for name, text in sources]
    result = _pyasm.assemble(encoded, python=_version_arg(python), default_python=default_python, mtime=mtime)
    diagnostics = [Diagnostic._of(d) for d in result["diagnostics"]]
    if result["pyc"] is None:
        texts = {name: text if isinstance(text, str) else bytes(text).decode("utf-8", "replace") for name, text in sources}
        raise AssemblyError(result["rendered"], diagnostics, texts)
    if diagnostics:
        warnings.warn(AssemblyWarning(result["rendered"], diagnostics), stacklevel=_user_stacklevel())
    return result


def _version_arg(python: str | None) -> str | None:
    if python is not None and not isinstance(python, str):
        raise TypeError("python= takes a version string like '3.11', not %r" % (python,))
    return python


@_api
def assemble(source: str, *, python: str | None = None, filename: str | None = None) -> bytes:
    """Assembles ``source`` (the text of a .pyasm file) into a complete .pyc.

    The version is ``python`` (``"3.11"``) when given, else the source's ``.python`` line, else
    the running interpreter's. ``filename`` names the source in diagnostics and is the default
    ``co_filename`` (default ``"<pyasm>"``); ``.include`` paths are relative to its folder.
    Errors raise :class:`AssemblyError`; warnings are issued as :class:`AssemblyWarning`.

    >>> pyc = pyasm.assemble(".code <module>\\n RESUME 0\\n LOAD_CONST None\\n RETURN_VALUE\\n.end\\n", python="3.11")
    >>> len(pyc) > 16
    True
    """
    result = _run([(filename or DEFAULT_FILENAME, source)], python, HOST_VERSION)
    return bytes(result["pyc"])


@_api
def assemble_files(paths: Iterable[StrPath], *, python: str | None = None) -> bytes:
    """Assembles several .pyasm files together into one module's .pyc, as
    ``pyasm A.pyasm B.pyasm -o OUT.pyc`` does: code objects defined in one file are referenced
    by ``@name`` from another, ``.include`` and macros work across them. The pyc header has the
    first file's modification time and the files' total size, as the command writes it."""
    names: list[str] = [os.fspath(p) for p in paths]
    if not names:
        raise ValueError("assemble_files needs at least one file")
    sources: list[tuple[str, str | bytes]] = []
    for name in names:
        with open(name, "rb") as f:
            sources.append((name, f.read()))
    mtime = int(os.stat(names[0]).st_mtime) & 0xFFFFFFFF
    result = _run(sources, python, HOST_VERSION, mtime=mtime)
    return bytes(result["pyc"])


def check(source: str, *, python: str | None = None, filename: str | None = None) -> list[Diagnostic]:
    """Every problem in ``source`` (errors, or when there are none, warnings), without raising
    for them; an empty list when it assembles cleanly.

    >>> [d.code for d in pyasm.check(".code <module>\\n RESUME 0\\n LOAD_CONST None\\n.end\\n", python="3.11")]
    ['E0203']
    """
    encoded = [(filename or DEFAULT_FILENAME, source.encode("utf-8"))]
    result = _pyasm.assemble(encoded, python=_version_arg(python), default_python=HOST_VERSION)
    return [Diagnostic._of(d) for d in result["diagnostics"]]


def _host_module(source: str, filename: str, *, what: str) -> types.CodeType:
    """Assembles ``source`` for the running interpreter and loads its module code object."""
    result = _run([(filename, source)], None, HOST_VERSION)
    if result["version"] != HOST_VERSION:
        raise ValueError(
            "%s makes code for the running interpreter, Python %s, but this source is for Python %s "
            "(its .python line): list %s there, remove the line, or use pyasm.assemble() for a .pyc of %s"
            % (what, HOST_VERSION, result["version"], HOST_VERSION, result["version"])
        )
    code = marshal.loads(result["pyc"][result["header_len"] :])
    assert isinstance(code, types.CodeType)
    return code


@_api
def compile(source: str, *, filename: str | None = None) -> types.CodeType:
    """Assembles ``source`` for the running interpreter and returns its module code object,
    ready for :func:`exec`::

        exec(pyasm.compile(open("hello.pyasm").read()))

    A ``.python`` line, if any, must name (or list) the running version.
    """
    return _host_module(source, filename or DEFAULT_FILENAME, what="pyasm.compile")


# ---------------------------------------------------------------------------------------------
# Functions written in assembly

F = TypeVar("F", bound=Callable[..., Any])


@overload
def function(source: F, /) -> F: ...
@overload
def function(
    source: str,
    /,
    name: str | None = None,
    *,
    globals: dict[str, Any] | None = None,
    defaults: Sequence[Any] | None = None,
    kwdefaults: Mapping[str, Any] | None = None,
    closure: Sequence[Any] | None = None,
    filename: str | None = None,
) -> types.FunctionType: ...
@overload
def function(source: None = None, /) -> Callable[[F], F]: ...


@_api
def function(
    source: Any = None,
    /,
    name: str | None = None,
    *,
    globals: dict[str, Any] | None = None,
    defaults: Sequence[Any] | None = None,
    kwdefaults: Mapping[str, Any] | None = None,
    closure: Sequence[Any] | None = None,
    filename: str | None = None,
) -> Any:
    """A Python function whose body is written in assembly, for the running interpreter.

    As a decorator, over a stub whose docstring is the body::

        @pyasm.function
        def add(a, b=1):
            '''
            RESUME 0
            LOAD_FAST a
            LOAD_FAST b
            BINARY_OP +
            RETURN_VALUE
            '''

    The parameters (with their defaults, keyword-only ones and ``*args``/``**kwargs``), the
    name, globals and free variables come from the stub; the body must not declare them. A
    name from an enclosing function is reached with ``nonlocal NAME`` in the stub (after the
    docstring), which makes it a free variable: ``.freevars`` is written for it, and the body
    reads it with ``LOAD_DEREF NAME`` (from 3.11 on, after ``COPY_FREE_VARS``). Diagnostics and
    tracebacks point at the lines of the docstring in the .py file. Write the docstring raw
    (``r'''…'''``) when the body has backslashes.

    From a source string, with one or more ``.code NAME(PARAMS)`` blocks (``name`` chooses one
    when there are several; the others can be its helpers, ``LOAD_CONST @helper``)::

        inc = pyasm.function(".code inc(x)\\n RESUME 0\\n LOAD_FAST x\\n LOAD_CONST 1\\n"
                             " BINARY_OP +\\n RETURN_VALUE\\n.end\\n")

    Then ``globals`` defaults to the caller's, ``defaults``/``kwdefaults`` are the parameters'
    defaults and ``closure`` the values of the free variables, in ``.freevars`` order.
    """
    if source is None:
        if any(x is not None for x in (name, globals, defaults, kwdefaults, closure, filename)):
            raise TypeError("@pyasm.function() takes no options: they come from the decorated stub")
        return _api(_from_stub)
    if isinstance(source, types.FunctionType):
        if any(x is not None for x in (name, globals, defaults, kwdefaults, closure, filename)):
            raise TypeError("pyasm.function(stub) takes no options: they come from the stub")
        return _from_stub(source)
    if not isinstance(source, str):
        raise TypeError("pyasm.function takes assembly source (a str) or decorates a function, not %r" % type(source).__name__)
    if globals is None:
        globals = _user_frame().f_globals
    return _from_source(source, name, globals, defaults, kwdefaults, closure, filename or DEFAULT_FILENAME)


def _reference(code_id: str) -> str:
    """How ``@code_id`` is written."""
    if code_id.isidentifier() or (code_id.startswith("<") and code_id.endswith(">") and code_id[1:-1].isidentifier()):
        return "@" + code_id
    return '@"%s"' % code_id.replace("\\", "\\\\").replace('"', '\\"')


def _module_loading(code_id: str) -> str:
    """A module that references one code object, appended after the user's lines (so their
    line numbers stay), to make it a constant of something loadable."""
    return "\n.code <module>\n    LOAD_CONST %s\n    RETURN_VALUE\n.end\n" % _reference(code_id)


def _function_code(source: str, code_id: str, filename: str) -> types.CodeType:
    module = _host_module(source + _module_loading(code_id), filename, what="pyasm.function")
    found = [c for c in module.co_consts if isinstance(c, types.CodeType)]
    assert len(found) == 1, found
    return found[0]


def _from_source(
    source: str,
    name: str | None,
    globals: dict[str, Any],
    defaults: Sequence[Any] | None,
    kwdefaults: Mapping[str, Any] | None,
    closure: Sequence[Any] | None,
    filename: str,
) -> types.FunctionType:
    ids = _pyasm.code_ids(source)
    if "<module>" in ids:
        raise ValueError(
            "pyasm.function builds a function from `.code NAME(PARAMS)` blocks, and this source has a "
            "module (`.code <module>`): run a module with exec(pyasm.compile(source))"
        )
    if name is None:
        if len(ids) != 1:
            raise ValueError(
                "the source defines %s: name the one to build, as pyasm.function(source, NAME)"
                % ("no code object" if not ids else "several code objects (%s)" % ", ".join(ids))
            )
        name = ids[0]
    elif name not in ids:
        raise ValueError("the source defines no code object %r (it defines %s)" % (name, ", ".join(ids) or "none"))
    code = _function_code(source, name, filename)
    if code.co_freevars and closure is None:
        raise TypeError("%s has free variables (%s): give their values as closure=(…)" % (name, ", ".join(code.co_freevars)))
    cells = None
    if closure is not None:
        if len(closure) != len(code.co_freevars):
            raise ValueError("%s has %d free variables (%s), closure= gives %d values" % (name, len(code.co_freevars), ", ".join(code.co_freevars), len(closure)))
        cells = tuple(types.CellType(v) for v in closure) if closure else None
    fn = types.FunctionType(code, globals, code.co_name, tuple(defaults) if defaults else None, cells)
    if kwdefaults:
        fn.__kwdefaults__ = dict(kwdefaults)
    return fn


def _from_stub(stub: F) -> F:
    if not isinstance(stub, types.FunctionType):
        raise TypeError("@pyasm.function decorates a function (a stub whose docstring is the body), not %r" % type(stub).__name__)
    stub_code = stub.__code__
    body, line, filename = _stub_body(stub)
    header = [".code %s(%s)" % (_code_id(stub.__name__), ", ".join(_parameters(stub_code)))]
    if stub_code.co_freevars:
        header.append("    .freevars " + ", ".join(stub_code.co_freevars))
    if line is not None and line > len(header):
        # Blank lines up to the docstring's, so that every body line has its line number in
        # the .py file: diagnostics, tracebacks and linecache then show the real lines.
        text = "\n" * (line - 1 - len(header)) + "\n".join(header) + "\n" + body
    else:
        text = "\n".join(header) + "\n" + body
    text += "\n.end\n"
    code = _function_code(text, stub.__name__, filename)
    if hasattr(code, "co_qualname"):
        code = code.replace(co_qualname=stub.__qualname__)
    fn = types.FunctionType(code, stub.__globals__, stub.__name__, stub.__defaults__, stub.__closure__)
    fn.__kwdefaults__ = stub.__kwdefaults__
    fn.__qualname__ = stub.__qualname__
    fn.__doc__ = stub.__doc__
    fn.__module__ = stub.__module__
    fn.__annotations__ = dict(stub.__annotations__)
    fn.__dict__.update(stub.__dict__)
    if hasattr(stub, "__type_params__"):
        fn.__type_params__ = stub.__type_params__  # type: ignore[attr-defined]
    return fn  # type: ignore[return-value]


def _code_id(name: str) -> str:
    return name if name.isidentifier() else '"%s"' % name


def _parameters(code: types.CodeType) -> list[str]:
    """The stub's parameter list as pyasm writes it: ``a, /, b, *args, c, **kw``."""
    names = code.co_varnames
    npos, nposonly, nkw = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    params = list(names[:nposonly])
    if nposonly:
        params.append("/")
    params += names[nposonly:npos]
    rest = npos + nkw
    if code.co_flags & 0x04:  # CO_VARARGS
        params.append("*" + names[rest])
        rest += 1
    elif nkw:
        params.append("*")
    params += names[npos : npos + nkw]
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        params.append("**" + names[rest])
    return params


def _stub_body(stub: types.FunctionType) -> tuple[str, int | None, str]:
    """The stub's docstring as written, the line of the .py file where it starts (None when the
    source cannot be found) and the name to give the assembly source."""
    code = stub.__code__
    found = _docstring_in_source(code.co_filename, code.co_firstlineno, stub.__name__)
    if found is not None:
        return found[0], found[1], code.co_filename
    doc = stub.__doc__
    if not isinstance(doc, str):
        raise TypeError(
            "@pyasm.function: %s has no docstring, and its docstring is the assembly body%s"
            % (stub.__qualname__, " (python -OO removes docstrings, and its source file was not found)" if sys.flags.optimize >= 2 else "")
        )
    return doc, None, "<docstring of %s>" % stub.__qualname__


def _docstring_in_source(filename: str, firstlineno: int, name: str) -> tuple[str, int] | None:
    """The docstring of the function defined at ``firstlineno`` (its first decorator or its
    ``def``) in ``filename``, with its first line padded to its column, and that line."""
    lines = linecache.getlines(filename)
    if not lines:
        return None
    text = "".join(lines)
    try:
        tree = _parsed(filename, text)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name != name:
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if first != firstlineno and node.lineno != firstlineno:
            continue
        doc = node.body[0] if node.body else None
        if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
            return None
        literal = ast.get_source_segment(text, doc.value) or ""
        prefix = literal[: len(literal) - len(literal.lstrip("rRuUbBfF"))]
        if "r" not in prefix.lower() and "\\" in literal:
            raise ValueError(
                "%s, line %d: write the assembly docstring of %s as a raw string (r'''…'''): "
                "Python turns its backslashes into other characters before pyasm sees them"
                % (filename, doc.value.lineno, name)
            )
        # ast columns are UTF-8 byte offsets; the body's first line starts after the quotes.
        line_text = lines[doc.value.lineno - 1]
        before = line_text.encode("utf-8")[: doc.value.col_offset].decode("utf-8", "replace")
        quotes = 3 if literal[len(prefix) :][:3] in ('"""', "'''") else 1
        column = len(before) + len(prefix) + quotes
        return " " * column + doc.value.value, doc.value.lineno
    return None


_PARSED: dict[str, tuple[str, ast.Module]] = {}


def _parsed(filename: str, text: str) -> ast.Module:
    """``ast.parse(text)``, remembered per file while its text stays the same (a file of many
    assembly functions is parsed once)."""
    cached = _PARSED.get(filename)
    if cached is not None and cached[0] == text:
        return cached[1]
    tree = ast.parse(text, filename)
    _PARSED[filename] = (text, tree)
    return tree


# ---------------------------------------------------------------------------------------------
# Disassembling and explaining


@_api
def disassemble(data: bytes | bytearray | memoryview | types.CodeType, *, python: str | None = None) -> str:
    """The .pyasm text of a .pyc file's bytes, of marshalled code (``marshal.dumps(code)``, for
    ``python``, default the running version), or of a live code object (the running
    interpreter's). The text assembles back to equal code objects.

    Data that cannot be read raises :class:`DisassemblyError` with the byte offset; pyasm
    refuses hostile input (truncation, bad references, reference bombs, absurd sizes) without
    crashing or allocating much more than the input's size.

    >>> print(pyasm.disassemble(compile("x = 1", "<x>", "exec")))  # doctest: +SKIP
    """
    if isinstance(data, types.CodeType):
        if python is not None and python != HOST_VERSION:
            raise ValueError("a live code object is the running interpreter's (Python %s), not %s" % (HOST_VERSION, python))
        data = marshal.dumps(_as_module(data))
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    else:
        raise TypeError("pyasm.disassemble takes bytes (a .pyc or marshalled code) or a code object, not %r" % type(data).__name__)
    result = _pyasm.disassemble(data, _version_arg(python) or HOST_VERSION)
    if result["error"] is not None:
        raise DisassemblyError(result["error"], result["offset"])
    for m in result["mismatches"]:
        warnings.warn(DisassemblyWarning("the disassembly does not reproduce %s" % m), stacklevel=_user_stacklevel())
    return str(result["text"])


def _as_module(code: types.CodeType) -> types.CodeType:
    """A module's code as it is; any other (a function's, a class body's) as the one constant
    of a module that loads it, which is what the text format can hold: the code object is then
    ``pyasm.compile(text).co_consts[0]``."""
    if code.co_name == "<module>" and not code.co_flags & 0x01:  # CO_OPTIMIZED
        return code
    # The compiler's module for `None` loads constant 0 and returns it: with the code object
    # as constant 0 it loads that instead, in every version's own instructions.
    loader = builtins.compile("None", code.co_filename, "eval", dont_inherit=True)
    assert loader.co_consts[:1] == (None,), loader.co_consts
    return loader.replace(co_consts=(code,) + loader.co_consts[1:])


def explain(opname: str, python: str | None = None) -> str:
    """What an instruction does, its operand, stack effect and versions (``pyasm explain``)::

    >>> print(pyasm.explain("LOAD_FAST", "3.11"))  # doctest: +SKIP
    """
    return _pyasm.explain(opname, _version_arg(python) or HOST_VERSION)


def instructions(python: str | None = None) -> str:
    """Every instruction of a version, one line each (``pyasm explain --list``)."""
    return _pyasm.instructions(_version_arg(python) or HOST_VERSION)


# ---------------------------------------------------------------------------------------------
# The command line


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``pyasm`` command in this process with ``argv`` (default ``sys.argv``; the
    first item is the program name) and returns its exit status."""
    args = list(sys.argv if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # The program is `pyasm` however it was started (console script, `python -m pyasm`), as
    # usage messages name it.
    return _pyasm.cli_main(["pyasm"] + [os.fsdecode(a) for a in args[1:]])

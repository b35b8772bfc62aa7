"""The `pyasm` command the wheel installs (and `python -m pyasm`) behaves like the Rust binary."""

import subprocess
import sys
from pathlib import Path

import pytest

import pyasm
from support import REPO, RUST_BIN, wheel_command

COMMANDS = {
    "console script": [wheel_command()],
    "python -m pyasm": [sys.executable, "-m", "pyasm"],
}


def run(argv, cwd):
    out = subprocess.run(argv, cwd=cwd, capture_output=True)
    return out.returncode, out.stdout, out.stderr


@pytest.fixture
def work(tmp_path):
    (tmp_path / "hello.pyasm").write_bytes((REPO / "examples/hello.pyasm").read_bytes())
    (tmp_path / "bad.pyasm").write_text(".python 3.11\n.code <module>\n    LOAD_FST a\n.end\n")
    return tmp_path


CASES = [
    ["--version"],
    ["check", "bad.pyasm", "--color", "never"],
    ["check", "bad.pyasm", "--message-format", "json"],
    ["explain", "LOAD_GLOBAL", "--python", "3.11"],
    ["--no-such-option"],
    ["assemble", "hello.pyasm", "-o", "-"],
    ["run", "hello.pyasm"],
]


@pytest.mark.parametrize("how", sorted(COMMANDS))
@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_the_installed_command_behaves_like_the_binary(work, how, args):
    assert run(COMMANDS[how] + args, work) == run([RUST_BIN] + args, work)


def test_the_installed_command_assembles_and_runs_an_example(work):
    code, _, err = run([wheel_command(), "hello.pyasm", "-o", "hello.pyc"], work)
    assert code == 0, err
    code, out, err = run([wheel_command(), "python", "3.11", "hello.pyc"], work)
    assert (code, out) == (0, b"hello, world\n"), err


def test_main_runs_in_this_process_and_returns_the_status(capfd):
    assert pyasm.main(["pyasm", "--version"]) == 0
    assert capfd.readouterr().out.startswith("pyasm ")
    assert pyasm.main(["pyasm", "check", "no-such-file.pyasm"]) == 2
    assert "no-such-file.pyasm" in capfd.readouterr().err

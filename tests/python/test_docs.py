"""docs/python.md stays true: each ```python block runs as a script, from the repository's
root, and where a ```text block follows it (only blank lines between), that is exactly what
it prints. The page's assembly is 3.11's (like the tutorial's), so this runs under 3.11;
tests/python_package.rs makes sure a 3.11 was among the interpreters."""

import subprocess
import sys

import pytest

from support import HOST, REPO

PAGE = REPO / "docs" / "python.md"


def examples():
    """(line, code, expected output or None) for each python block."""
    lines = PAGE.read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = lines.index("```", start)
            code = "\n".join(lines[start:end]) + "\n"
            j = end + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            expected = None
            if j < len(lines) and lines[j].strip() == "```text":
                stop = lines.index("```", j + 1)
                expected = "\n".join(lines[j + 1 : stop]) + "\n"
                end = stop
            out.append((start, code, expected))
            i = end + 1
        else:
            i += 1
    return out


def test_the_page_has_examples_with_output():
    found = examples()
    assert len(found) >= 8 and sum(e is not None for _, _, e in found) >= 6


@pytest.mark.skipif(HOST != "3.11", reason="docs/python.md's assembly is Python 3.11's")
@pytest.mark.parametrize("line,code,expected", examples(), ids=lambda x: str(x) if isinstance(x, int) else "")
def test_each_example_runs_and_prints_what_the_page_shows(tmp_path, line, code, expected):
    script = tmp_path / ("python_md_line_%d.py" % line)
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, "docs/python.md line %d failed:\n%s" % (line, out.stderr)
    if expected is not None:
        assert out.stdout == expected, "docs/python.md line %d printed:\n%s" % (line, out.stdout)

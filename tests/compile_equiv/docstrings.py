"""Module docstring: the first constant of the module."""


def documented(x):
    """A function docstring is co_consts[0]."""
    return x + 1


def undocumented(x):
    return x - 1


class Documented:
    """A class docstring is stored as __doc__."""

    def method(self):
        "Single-quoted docstring."
        return documented(1)


print(__doc__)
print(documented.__doc__, undocumented.__doc__, Documented.__doc__)
print(Documented().method(), Documented.method.__doc__)

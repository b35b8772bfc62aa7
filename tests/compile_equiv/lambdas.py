add = lambda a, b: a + b
square = lambda x: x * x
print(add(2, 3), square(7))
print(sorted(["bb", "a", "ccc"], key=lambda s: -len(s)))


def make_adder(n):
    return lambda x, *, y=0: x + n + y


print(make_adder(10)(5, y=1))

import os.path
from math import floor, ceil as c
x: int = 5
y = [1, 2, 3]
flag = x and y or None
alt = x or y and None
inside = 0 < x < 10 >= 3
label = "pos" if x > 0 else "neg"
text = f"{x!r:>5}|{label!s}|{x:{3}}|{y[0]!a}"
merged = {**{"a": 1}, "b": 2, **{"c": 3}}
spread = [*y, *range(2), 4]
tup = (*y, 5)
part = y[1:]
step = y[::-1]
y[0] += 10
y[1:2] = [20, 21]
del y[-1]
obj = type("Obj", (), {})()
obj.attr = 1
obj.attr *= 3
del obj.attr
if (n := len(y)) > 2:
    print("walrus", n)
assert n == 3, "three"
print(*y, sep="-", end="!\n")
print(flag, alt, inside, label, text, merged, spread, tup, part, step, floor(2.5), c(2.5))
print(os.path.basename("/a/b"), __annotations__)
try:
    raise ValueError("inner") from KeyError("cause")
except ValueError as err:
    print(type(err.__cause__).__name__)

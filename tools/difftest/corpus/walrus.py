# min-version: 3.8
# Assignment expressions and positional-only parameters.
def pos(a, b, /, c=1):
    return a * b + c

def scan(items):
    out = []
    while (n := len(items)) > 2:
        out.append(items.pop())
    if (m := pos(2, 3, c=n)) > 5:
        out.append(m)
    return [y for x in range(4) if (y := x * x) > 1], out

print(scan([1, 2, 3, 4, 5]))

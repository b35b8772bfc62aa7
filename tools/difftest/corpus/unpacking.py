# Unpacking: tuples, starred targets, swaps, nested, in loops, starred in calls and displays.
def unpack():
    a, b = 1, 2
    a, b = b, a
    first, *rest = [1, 2, 3, 4]
    *init, last = "xyz"
    (p, q), r = (5, 6), 7
    head, *mid, tail = range(6)
    merged = [*rest, *init, 0]
    d = {**{"k": 1}, "j": 2}
    s = {*mid, 99}
    for x, (y, z) in [(1, (2, 3)), (4, (5, 6))]:
        a += x + y + z
    return a, b, first, rest, init, last, p, q, r, head, mid, tail, merged, d, sorted(s)

print(unpack())

def f(a, b, /, c, d=4, *args, e, g=7, **kwargs):
    return a + b + c + d + e + g + len(args) + len(kwargs)


def h(x, y=2, *, z=3):
    return x * y * z


print(f(1, 2, 3, e=5))
print(f(1, 2, 3, 4, 5, 6, e=5, g=1, extra=0))
print(h(1), h(1, 5, z=10))
print(h(*[2], **{"z": 4}))

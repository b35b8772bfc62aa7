# Calls in every layout: plain, methods, keywords, *args and **kwargs, builtins, nested calls.
def f(a, b=2, *args, c=3, **kw):
    return a + b + c + len(args) + len(kw)

class Box:
    def __init__(self, v):
        self.v = v
    def get(self, extra=0):
        return self.v + extra
    @staticmethod
    def s(x):
        return x * 2
    @classmethod
    def make(cls, v):
        return cls(v)

xs = [1, 2, 3]
kw = {"c": 5, "d": 6}
total = f(1) + f(1, 2) + f(1, b=4) + f(*xs) + f(1, *xs, **kw) + f(a=1, **{"b": 2})
b = Box.make(4)
total += b.get() + b.get(extra=1) + Box.s(3) + b.s(2) + getattr(b, "get")(5)
total += max(xs, key=lambda x: -x) + sorted(xs, reverse=True)[0]
parts = "a,b,c".split(",")
total += len(" ".join(parts).upper())
print(total, min(1, 2), divmod(7, 2))

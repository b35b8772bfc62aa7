class Point:
    __match_args__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def describe(subject):
    match subject:
        case 0 | 1:
            return "bit"
        case [first, *rest] if first > 10:
            return f"big head {first} with {len(rest)} more"
        case (a, b):
            return f"pair {a},{b}"
        case {"kind": "circle", "r": r, **extra}:
            return f"circle {r} {extra}"
        case Point(x=0, y=y):
            return f"on the y axis at {y}"
        case Point(x, y) as p if x == y:
            return f"diagonal {p.x}"
        case str() | bytes():
            return "text"
        case None:
            return "nothing"
        case _:
            return "other"


for s in [0, 1, [11, 2, 3], (4, 5), {"kind": "circle", "r": 2, "c": 1}, Point(0, 7),
          Point(3, 3), Point(1, 2), "s", b"b", None, 3.5]:
    print(describe(s))

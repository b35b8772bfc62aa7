# min-version: 3.10
# match statements: literals, captures, sequences, mappings, classes, guards, or-patterns.
class Point:
    __match_args__ = ("x", "y")
    def __init__(self, x, y):
        self.x = x
        self.y = y

def classify(v):
    match v:
        case 0 | 1:
            return "small"
        case [a, b, *rest]:
            return "seq %s %s %d" % (a, b, len(rest))
        case {"k": value}:
            return "map %s" % value
        case Point(x=0, y=y):
            return "on axis %s" % y
        case Point(x, y) if x == y:
            return "diagonal"
        case str() as s:
            return "str " + s
        case _:
            return "other"

print([classify(v) for v in (0, [1, 2, 3], {"k": 5}, Point(0, 2), Point(3, 3), "s", 2.5)])

# Generators: yield, yield from, send, return values, a generator in a loop.
def counter(n):
    i = 0
    while i < n:
        got = yield i
        if got:
            i += got
        i += 1
    return "end"

def delegate():
    r = yield from counter(3)
    yield r
    yield from [10, 20]

def run():
    g = counter(10)
    out = [next(g), g.send(2), g.send(None)]
    g.close()
    out.extend(delegate())
    out.append(sum(x for x in counter(4)))
    return out

print(run())

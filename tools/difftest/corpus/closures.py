# Closures over several levels, nonlocal and global.
counter = 0

def outer(n):
    x = n
    def middle(m):
        y = m
        def inner(k):
            nonlocal y
            y += k
            return x + y + k
        r = inner(1) + inner(2)
        return r, y
    def bump():
        nonlocal x
        x += 1
        return x
    bump()
    return middle(3), bump()

def incr():
    global counter
    counter += 1
    return counter

def make_adders():
    return [lambda v, i=i: v + i for i in range(3)]

print(outer(5), incr(), incr(), [f(10) for f in make_adders()])

def gen(n):
    for i in range(n):
        x = yield i * i
        if x:
            print("got", x)
    return "end"


def delegate():
    result = yield from gen(3)
    print("result", result)


g = gen(4)
print(next(g), next(g))
print(g.send("hi"))
print(list(delegate()))
print(sum(v for v in range(5)))

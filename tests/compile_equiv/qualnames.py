def factory():
    class Local:
        square = staticmethod(lambda v: v * v)
        table = [n for n in range(3)]

        def method(self):
            return list(x + 1 for x in self.table)

    global made_global

    def made_global():
        return "global"

    return Local


class Outer:
    class Inner:
        def deep(self):
            def helper():
                return __class__
            return helper()


L = factory()
print(L.__qualname__, L.method.__qualname__, L.square.__qualname__, L().method())
print(made_global.__qualname__, made_global())
print(Outer.Inner.deep.__qualname__, Outer.Inner().deep().__qualname__)
grid = [[c for c in row] for row in ["ab", "cd"]]
thunks = list((lambda: v) for v in [1, 2])
print(grid, thunks[0](), thunks[0].__qualname__)

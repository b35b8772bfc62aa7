class Ctx:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("enter", self.name)
        return self

    def __exit__(self, et, ev, tb):
        print("exit", self.name, et is not None)
        return True


with Ctx("one") as c:
    print("inside", c.name)
with Ctx("two"), Ctx("three"):
    raise ValueError("swallowed")
print("after")

# with statements: one and several managers, an exception inside, a manager that swallows it.
class Ctx:
    def __init__(self, name, swallow=False):
        self.name = name
        self.swallow = swallow
        self.log = []
    def __enter__(self):
        self.log.append("enter")
        return self
    def __exit__(self, kind, value, tb):
        self.log.append("exit %s" % (kind.__name__ if kind else None))
        return self.swallow

def use():
    a = Ctx("a")
    b = Ctx("b", swallow=True)
    with a as x, b:
        x.log.append("body")
        raise RuntimeError("boom")
    with Ctx("c") as c:
        c.log.append(len(a.log))
    return a.log + b.log + c.log

print(use())

# Classes: inheritance, super(), properties, class attributes, dunder methods.
class Base:
    kind = "base"
    def __init__(self, v):
        self.v = v
    def describe(self):
        return "%s:%s" % (self.kind, self.v)
    def __add__(self, other):
        return type(self)(self.v + other.v)

class Child(Base):
    kind = "child"
    def __init__(self, v, extra=1):
        super().__init__(v)
        self.extra = extra
    def describe(self):
        return super().describe() + "+" + str(self.extra)
    @property
    def total(self):
        return self.v + self.extra

c = Child(3) + Child(4)
print(c.describe(), c.total, isinstance(c, Base), Child.__mro__[1].__name__)

class Base:
    kind = "base"

    def __init__(self, value):
        self.value = value

    def describe(self):
        return f"{self.kind}:{self.value}"


class Child(Base):
    kind = "child"

    def __init__(self, value, extra):
        super().__init__(value)
        self.extra = extra

    def describe(self):
        return super().describe() + "+" + str(self.extra)

    @staticmethod
    def make():
        return Child(1, 2)


print(Base(5).describe())
print(Child(3, 4).describe())
print(Child.make().describe())

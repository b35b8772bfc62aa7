class Resource:
    async def __aenter__(self):
        print("acquire")
        return self

    async def __aexit__(self, *exc):
        print("release")


class Ticker:
    def __init__(self, n):
        self.n = n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.n == 0:
            raise StopAsyncIteration
        self.n -= 1
        return self.n


async def countdown(n):
    while n:
        yield n
        n -= 1


async def main():
    async with Resource() as r:
        print("using", type(r).__name__)
    async for t in Ticker(3):
        print("tick", t)
    return [v async for v in countdown(3)]


coro = main()
try:
    coro.send(None)
except StopIteration as stop:
    print("result", stop.value)

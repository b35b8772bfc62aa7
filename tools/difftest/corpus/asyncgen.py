# Async generators and async for / async with, driven by hand with .send().
class Lock:
    async def __aenter__(self):
        return self
    async def __aexit__(self, *exc):
        return False

async def agen(n):
    for i in range(n):
        yield i * 10

async def consume():
    out = []
    async with Lock():
        async for v in agen(3):
            out.append(v)
    out.append([x async for x in agen(2)])
    return out

def drive(coro):
    try:
        while True:
            coro.send(None)
    except StopIteration as e:
        return e.value

print(drive(consume()))

# async def and await, driven by hand with .send() (no event loop).
class Tick:
    def __await__(self):
        v = yield "tick"
        return v

async def add(a, b):
    x = await Tick()
    return a + b + (x or 0)

async def main():
    total = 0
    for i in range(3):
        total += await add(i, 1)
    return total

def drive(coro):
    sent = None
    steps = 0
    while True:
        try:
            coro.send(sent)
        except StopIteration as e:
            return e.value, steps
        steps += 1
        sent = steps

print(drive(main()))

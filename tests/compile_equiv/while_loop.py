def collatz(n):
    steps = 0
    while n != 1:
        if n > 1000:
            break
        steps += 1
        if n % 2 == 0:
            n //= 2
            continue
        n = 3 * n + 1
    else:
        print("reached 1")
    return steps


print(collatz(27))
i = 0
while True:
    i += 1
    if i > 5:
        break
print(i)

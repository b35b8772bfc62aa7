# for and while loops with break, continue and else.
def loops(n):
    acc = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        if i > 7:
            break
        acc += i
    else:
        acc -= 1
    j = 0
    while j < n:
        j += 1
        if j == 2:
            continue
        if j > 5:
            break
        acc += j * 2
    else:
        acc += 100
    for a, b in zip("abc", range(3)):
        for c in (a, b):
            acc += len(str(c))
    k = n
    while k:
        k -= 1
    return acc

print(loops(10), loops(3))

data = [3, 1, 4, 1, 5, 9, 2, 6]
squares = [x * x for x in data]
evens = [x for x in data if x % 2 == 0]
pairs = [(a, b) for a in range(3) for b in range(a)]
print(squares, evens, pairs)


def scaled(values, k):
    return [v * k for v in values]


print(scaled(data, 2))
print({x: x % 3 for x in data}, {x for x in data})

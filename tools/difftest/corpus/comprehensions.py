# List, set and dict comprehensions, generator expressions, nested and with conditions.
def comps(n):
    squares = [i * i for i in range(n) if i % 2]
    pairs = [(i, j) for i in range(3) for j in range(i)]
    evens = {i % 4 for i in range(n)}
    table = {str(i): i for i in range(n) if i != 2}
    total = sum(x for x in squares if x > 1)
    nested = [[j for j in range(i)] for i in range(3)]
    g = (c.upper() for c in "abc")
    return squares, pairs, sorted(evens), table, total, nested, list(g), any(v > 3 for v in table.values())

print(comps(6))

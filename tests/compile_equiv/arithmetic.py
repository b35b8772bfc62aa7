a = 7
b = 3
c = a * b + a // b - a % b
d = (a - b) ** 2 / 4
e = -a << 2 | b & 5 ^ 1
c += 10
d -= 0.5
print(a, b, c, d, e)
print(~c, +d, not e)

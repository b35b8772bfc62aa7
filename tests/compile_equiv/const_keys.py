# Constants that are equal (==) but distinct to the compiler: each keeps its own co_consts
# entry because the compiler keys constants by type and exact value.
i = 1
j = 1.0
h = True
c = 1j
f = 0.0
g = -0.0
z = -0j
d = (1, 2)
e = (1.0, 2)
s = ()
t = ((),)
inf = 1e400
big = 2**63
small = -2**63
i32 = -2**31
r = 1e400j
lone = "\udc80"
nul = "a\x00b"
long_text = "x" * 300
esc = b"\\\"\x7f\x80"
names = {"café": 1}
café = "non-ASCII identifier"
pairs = i in {(1, 2), (3, 4)}
mixed = j in {1.5, 2, "2"}
print(i, j, h, c, f, g, z, d, e, s, t, inf, big, small, i32, r)
print(ascii(lone), ascii(nul), len(long_text), esc, names, café, pairs, mixed)

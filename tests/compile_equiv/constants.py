big = 2**100
neg_zero = -0.0
z = 3 + 4j
w = complex(1.0, -0.0)
blob = b"\x00\xffbytes"
nested = ((1, 2), ("a", (None, True)), (1.5, -0.0))
text = "caf\u00e9 \U0001f600"
huge_neg = -123456789012345678901234567890


def member(x):
    return x in {1, 2, 3}


def member_str(x):
    return x not in {"a", "b"}


print(big, neg_zero, z, w, blob, nested, text, huge_neg)
print(member(2), member(5), member_str("c"))
print(1 / neg_zero if False else repr(-0.0), 0.1 + 0.2, 1e300 * 10)

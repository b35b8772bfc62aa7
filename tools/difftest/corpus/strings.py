# f-strings with conversions and format specs, %-formatting, str methods.
def fmt(name, n):
    width = 8
    s = f"{name}:{n:>4}|{n!r}|{name!s:^{width}}|{n * 2:x}"
    t = "%s-%d-%5.2f" % (name, n, n / 3)
    u = "{}/{}".format(name, n)
    return s, t, u, f"{'nested'}", f"{n:,}"

print(fmt("abc", 1234))

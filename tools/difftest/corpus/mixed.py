# A little of everything: a dict-driven loop, a closure, a comprehension inside a try.
def histogram(words):
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    def top(n):
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    try:
        ratio = [c / len(words) for _, c in top(2)]
    except ZeroDivisionError:
        ratio = []
    return top(2), ratio

text = "a b a c b a".split()
print(histogram(text), histogram([]))

def classify(n):
    if n < 0:
        kind = "negative"
    elif n == 0:
        kind = "zero"
    elif n < 10 and n % 2 == 0:
        kind = "small even"
    elif n < 10 or n is None:
        kind = "small odd"
    else:
        kind = "large"
    return kind


for v in (-5, 0, 4, 7, 12):
    print(v, classify(v))
x = 3
if x:
    print("x is true")
else:
    print("x is false")

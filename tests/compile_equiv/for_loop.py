total = 0
for i in range(10):
    if i == 7:
        break
    if i % 3 == 0:
        continue
    total += i
else:
    total = -1
print(total)
for k, v in {"a": 1, "b": 2}.items():
    print(k, v)

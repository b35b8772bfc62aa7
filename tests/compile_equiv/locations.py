values = [1, 2, 3]
result = sum(
    v * 2
    for v in values
)
long_name_for_a_value_that_pushes_columns_far_to_the_right = 1
total = long_name_for_a_value_that_pushes_columns_far_to_the_right + long_name_for_a_value_that_pushes_columns_far_to_the_right + result
message = (
    "total is "
    + str(total)
)


def f(a,
      b):
    return (a +
            b)


if total > 10: print(message, f(1,
                                 2))
else:
    pass
print(f(total, 1), {
    "k": [
        1,
    ],
})
try:
    padding = "ünïcödé text shifts byte columns"; value = [total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total, total][0] + undefined_name
except NameError:
    print("caught at byte column > 255")

def divide(a, b):
    try:
        q = a / b
    except ZeroDivisionError as err:
        print("error:", err)
        return None
    except (TypeError, ValueError):
        print("bad types")
        raise
    else:
        print("ok", q)
        return q
    finally:
        print("done", a, b)


divide(1, 2)
divide(1, 0)
try:
    divide("a", 1)
except TypeError:
    print("reraised")

# try/except/else/finally, raise from, re-raise, nested handlers.
class MyError(Exception):
    pass

def risky(v):
    if v == 1:
        raise ValueError("one")
    if v == 2:
        raise KeyError(v)
    return v

def handle(v):
    log = []
    try:
        r = risky(v)
    except ValueError as e:
        log.append(str(e))
        try:
            raise MyError("wrapped") from e
        except MyError as m:
            log.append(type(m.__cause__).__name__)
    except (KeyError, IndexError):
        log.append("key")
    else:
        log.append(r)
    finally:
        log.append("done")
    try:
        try:
            1 / 0
        except ZeroDivisionError:
            raise
    except ArithmeticError:
        log.append("zero")
    return log

print([handle(v) for v in range(4)])

# min-version: 3.11
# Exception groups and except*.
def groups():
    seen = []
    try:
        raise ExceptionGroup("many", [ValueError(1), TypeError(2), ValueError(3)])
    except* ValueError as eg:
        seen.append(len(eg.exceptions))
    except* TypeError:
        seen.append("type")
    return seen

print(groups())

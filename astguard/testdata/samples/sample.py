import os
from typing import List


class Shape:
    """A shape with an area.

    Triple-quoted (with "quotes") docstring.
    """

    def __init__(self, w: float, h: float) -> None:
        self.w = w
        self.h = h

    def area(self) -> float:
        return self.w * self.h


def describe(shapes: List[Shape]) -> str:
    out = []
    for i, s in enumerate(shapes):
        if s.area() > 10:
            out.append(f"{i}: big {s!r}")
        elif s.area() == 0:
            continue
        else:
            out.append(r'small \d+' + 'x')  # a comment (with a paren
    d = {"a": [1, 2,
               3], "b": (4, 5)}
    return "\n".join(out) + os.sep + str(d)

package sample

import (
	"fmt"
	"strings"
)

// Shape is something with an area.
type Shape interface {
	Area() float64
}

type Rect struct {
	W, H float64
}

func (r Rect) Area() float64 { return r.W * r.H }

func describe(shapes []Shape) string {
	var b strings.Builder
	for i, s := range shapes {
		if s.Area() > 10 {
			fmt.Fprintf(&b, "%d: big %v\n", i, s)
		} else {
			b.WriteString(`small
raw "string"`)
		}
	}
	m := map[string]int{"a": 1, "b": 2}
	switch len(m) {
	case 0:
		return "empty"
	default:
		return b.String() + fmt.Sprint('x', m["a"])
	}
}

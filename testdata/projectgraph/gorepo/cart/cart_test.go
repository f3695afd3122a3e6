package cart

import "testing"

func TestTotal(t *testing.T) {
	c := New()
	c.Add("a", 1)
	if c.Total() != 1 {
		t.Fatal(c.Total())
	}
}

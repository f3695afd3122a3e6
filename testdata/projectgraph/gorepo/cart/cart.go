// Package cart keeps the items a customer is buying.
package cart

import "example.com/shop/internal/price"

// Cart holds the items and their prices.
type Cart struct {
	items map[string]price.Cents
}

// New returns an empty cart.
func New() *Cart {
	return &Cart{items: map[string]price.Cents{}}
}

// Add puts an item in the cart.
func (c *Cart) Add(name string, cents int64) {
	c.items[name] += price.Cents(cents)
}

// Total sums the prices of all items.
func (c *Cart) Total() price.Cents {
	var t price.Cents
	for _, v := range c.items {
		t += v
	}
	return t
}

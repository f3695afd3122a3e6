// Command shop prints a receipt.
package main

import (
	"fmt"

	"example.com/shop/cart"
	money "example.com/shop/internal/price"
)

func main() {
	c := cart.New()
	c.Add("tea", 350)
	fmt.Println(money.Format(c.Total()))
}

// Package price formats money.
package price

import "fmt"

// Cents is an amount of money in hundredths of the currency unit.
type Cents int64

// Currency is the ISO code every amount is in.
const Currency = "EUR"

// Format renders c as "12.34 EUR".
func Format(c Cents) string {
	return fmt.Sprintf("%d.%02d %s", c/100, c%100, Currency)
}

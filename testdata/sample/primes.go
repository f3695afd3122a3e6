package main

import "fmt"

// isPrime reports whether n is a prime number.
func isPrime(n int) bool {
	
}

func main() {
	for i := 0; i < 20; i++ {
		if isPrime(i) {
			fmt.Println(i)
		}
	}
}

//go:build !unix

package store

// lock is a no-op where flock is unavailable; concurrent pulls of one model
// are then the user's to avoid.
func (s *Store) lock(name string) (func(), error) { return func() {}, nil }

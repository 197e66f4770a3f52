//go:build !unix

package dataset

// openFlags are none where package syscall has no O_NONBLOCK to give.
const openFlags = 0

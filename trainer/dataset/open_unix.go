//go:build unix

package dataset

import "syscall"

// openFlags make OpenRegular's open return at once on a named pipe (which it
// then refuses) and never make a terminal the controlling one.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY

//go:build !unix

package server

import "errors"

// mkfifo reports that this system has no named pipes to test with.
func mkfifo(string) error { return errors.ErrUnsupported }

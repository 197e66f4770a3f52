//go:build !unix

package browsertest

import "errors"

// firstTouchMsPerMB is not measured here (see firsttouch_unix_test.go).
func firstTouchMsPerMB(int) (float64, error) { return 0, errors.ErrUnsupported }

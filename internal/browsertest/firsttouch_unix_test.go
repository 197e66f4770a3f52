//go:build unix

package browsertest

import (
	"os"
	"syscall"
	"time"
)

// firstTouchMsPerMB maps n bytes of fresh anonymous memory, writes one
// byte per page, and returns the time that took in ms per MiB: what this
// machine charges for the first touch of memory (the page faults), which
// a reload pays for every byte the classifier worker fills.
func firstTouchMsPerMB(n int) (float64, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, err
	}
	defer syscall.Munmap(b)
	page := os.Getpagesize()
	start := time.Now()
	for i := 0; i < n; i += page {
		b[i] = 1
	}
	return time.Since(start).Seconds() * 1e3 / (float64(n) / (1 << 20)), nil
}

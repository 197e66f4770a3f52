package fsutil

import (
	"fmt"
	"io/fs"
)

// DescribeMode names the type of a file mode in words, for messages about
// an entry that is not a regular file: "a folder", "a named pipe (FIFO)",
// "a socket", "a device", "a symlink", else "a special file (…)".
func DescribeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	default:
		return fmt.Sprintf("a special file (%v)", m.Type())
	}
}

package dash

import (
	"fmt"
	"math"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

// Duration writes seconds as "42s", "3m 05s" or "2h 10m" ("—" when
// negative or not finite).
func Duration(sec float64) string {
	if sec < 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "—"
	}
	s := int64(math.Round(sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
}

// Percent writes a fraction as a percentage with the given decimals.
func Percent(f float64, decimals int) string {
	if math.IsNaN(f) {
		return "—"
	}
	return strconv.FormatFloat(100*f, 'f', decimals, 64) + "%"
}

// Bytes writes a size as "512 B", "3.4 KB", "233.3 MB" (powers of 1000).
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// Rate writes a throughput such as images per second with 3 significant
// digits ("—" when zero or unknown).
func Rate(v float64) string {
	if !(v > 0) || math.IsInf(v, 0) {
		return "—"
	}
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// Fixed writes v with the given decimals ("—" for NaN).
func Fixed(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// Full writes v with the fewest digits that read back as the same
// float64, for data attributes that tests parse.
func Full(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Full32 writes v with the fewest digits that read back as the same
// float32 (a probability computed in float32).
func Full32(v float64) string { return strconv.FormatFloat(v, 'g', -1, 32) }

// Count writes an integer with comma thousands separators.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

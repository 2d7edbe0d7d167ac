package termtext

import "strconv"

// Ordinal writes n as "1st", "2nd", "3rd", "4th", "11th", "22nd".
func Ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// Bytes writes a size in at most 5 cells: "0", "812K", "12M", "1.2G",
// "512G".
func Bytes(n uint64) string {
	const k = 1024
	switch {
	case n < k:
		return strconv.FormatUint(n, 10)
	case n < k*k:
		return strconv.FormatUint(n/k, 10) + "K"
	case n < 10*k*k*k && n >= k*k*k:
		return strconv.FormatFloat(float64(n)/(k*k*k), 'f', 1, 64) + "G"
	case n < k*k*k:
		return strconv.FormatUint(n/(k*k), 10) + "M"
	}
	return strconv.FormatUint(n/(k*k*k), 10) + "G"
}

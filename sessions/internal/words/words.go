package words

import "fmt"

// Plural counts n of unit in words: "1 byte", "2 bytes".
func Plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

package nemesis

import "strings"

// Flag writes kinds as consist run's --nemesis takes them: comma-separated,
// or "none" for none.
func Flag(kinds []Kind) string {
	if len(kinds) == 0 {
		return "none"
	}
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

package history

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Equal reports whether two normalised values are the same value.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool, int64, string:
		return a == b
	case float64:
		bf, ok := b.(float64)
		return ok && (a == bf || (math.IsNaN(a) && math.IsNaN(bf)))
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !Equal(a[i], bl[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

// Canonical returns a string that is equal for two values exactly when
// Equal holds: the value's JSON encoding with map keys sorted. The one
// exception: NaN and the infinities, which JSON cannot hold, are written as
// the strings "NaN", "+Inf" and "-Inf", and so collide with those strings.
func Canonical(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return strconv.Quote(v)
	}
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

// Describe renders a value compactly for messages, as JSON.
func Describe(v any) string {
	s := Canonical(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// writeJSON appends v's JSON encoding, map keys sorted, to b.
func writeJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// JSON has no NaN or infinity; a string keeps the value visible.
			b.WriteString(strconv.Quote(strconv.FormatFloat(v, 'g', -1, 64)))
			return
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0" // keep floats distinct from integers
		}
		b.WriteString(s)
	case string:
		enc, _ := json.Marshal(v)
		b.Write(enc)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			enc, _ := json.Marshal(k)
			b.Write(enc)
			b.WriteByte(':')
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%q", fmt.Sprint(v))
	}
}

// Normalize converts a value decoded by encoding/json with UseNumber into
// the normalised form: json.Number becomes int64 when it is an integer that
// fits, float64 otherwise.
func Normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case []any:
		for i := range v {
			v[i] = Normalize(v[i])
		}
		return v
	case map[string]any:
		for k := range v {
			v[k] = Normalize(v[k])
		}
		return v
	case float64:
		return v
	case int:
		return int64(v)
	}
	return v
}

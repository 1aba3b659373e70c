package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Equal reports whether two normalised values are the same value.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool, int64, string, Number:
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
	case Number:
		return string(v)
	}
	return string(appendJSON(nil, v))
}

// Describe renders a value compactly for messages, as JSON.
func Describe(v any) string {
	s := Canonical(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// appendJSON appends v's JSON encoding, map keys sorted, to b.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case Number:
		return append(b, v...)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// JSON has no NaN or infinity; a string keeps the value visible.
			return strconv.AppendQuote(b, strconv.FormatFloat(v, 'g', -1, 64))
		}
		start := len(b)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		if !bytes.ContainsAny(b[start:], ".eEn") {
			b = append(b, ".0"...) // keep floats distinct from integers
		}
		return b
	case string:
		return appendJSONString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v[k])
		}
		return append(b, '}')
	}
	return appendJSONString(b, fmt.Sprint(v))
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Normalize converts a value decoded by encoding/json with UseNumber into
// the normalised form: a json.Number becomes what ParseNumber makes of it
// (int64, float64 or Number, never rounded); a json.Number that is not a
// number at all is left as it is.
func Normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := ParseNumber(string(v)); err == nil {
			return n
		}
		return v
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

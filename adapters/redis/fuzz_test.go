package redis

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"consist/adapters"
)

// FuzzDecodeMembers: no set read from Redis (its members are the NUL-
// separated parts of the input, distinct, as Redis keeps them) panics the
// decoder; what it accepts is sorted, has no duplicates, and holds exactly
// the integers whose decimal form is a member.
func FuzzDecodeMembers(f *testing.F) {
	for _, s := range []string{"", "1", "1\x002\x003", "3\x001", "1\x0001", "1\x00+1", "0\x00-0",
		"9223372036854775807\x00-9223372036854775808", "9223372036854775808", " 1", "1e3", "x"} {
		f.Add([]byte(s))
	}
	op := adapters.Op{Kind: adapters.Set, F: "read", Key: "s"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms []string
		for _, part := range bytes.Split(data, []byte{0}) {
			if len(data) > 0 && !slices.Contains(ms, string(part)) {
				ms = append(ms, string(part))
			}
		}
		got, err := decodeMembers(op, ms)
		if err != nil {
			return
		}
		if len(got) != len(ms) {
			t.Fatalf("%q decoded as %v", ms, got)
		}
		for i, v := range got {
			n := v.(int64)
			if i > 0 && got[i-1].(int64) >= n {
				t.Fatalf("%q decoded as %v: not strictly increasing", ms, got)
			}
			if !slices.Contains(ms, strconv.FormatInt(n, 10)) {
				t.Fatalf("%q decoded as %v: %d is not a member", ms, got, n)
			}
		}
	})
}

// FuzzParseInt: a register's or counter's value reads back only as the
// integer whose decimal form it is.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "+5", "007", "-9223372036854775808", "9223372036854775808", "", "x"} {
		f.Add(s)
	}
	op := adapters.Op{Kind: adapters.Register, F: "read", Key: "r"}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseInt(op, s)
		if err == nil && strconv.FormatInt(n, 10) != s {
			t.Fatalf("%q read as %d", s, n)
		}
	})
}

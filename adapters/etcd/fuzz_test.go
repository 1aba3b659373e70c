package etcd

import (
	"strconv"
	"testing"

	"consist/history"
)

// FuzzDecode: no value stored in etcd panics the decoder; what it decodes
// reads back the same once written again, and an integer it wrote reads
// back as that integer.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "0", "-0", "+7", "007", " 7", "9223372036854775807", "9223372036854775808",
		"-9223372036854775809", "0x10", "1e3", "1_000", "\xff\xfe", "\x00", "k3"} {
		f.Add([]byte(s), int64(0))
	}
	f.Add([]byte("x"), int64(-1<<63))
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		v := decode(b)
		switch v := v.(type) {
		case int64:
			if want, err := strconv.ParseInt(string(b), 10, 64); err != nil || want != v {
				t.Fatalf("decode(%q) = %d", b, v)
			}
		case string:
			if v != string(b) {
				t.Fatalf("decode(%q) = %q, not the stored bytes", b, v)
			}
		default:
			t.Fatalf("decode(%q) is a %T", b, v)
		}
		if again := decode([]byte(encode(v))); again != v {
			t.Fatalf("decode(%q) = %#v, written again and read back %#v", b, v, again)
		}
		if got := decode([]byte(encode(n))); got != n {
			t.Fatalf("%d written and read back as %#v", n, got)
		}
	})
}

// FuzzDecodeTxnValue: no value stored in etcd panics the decoder of a
// transaction's key; a list it reads is written back the same, and a
// list of integers written reads back as it was.
func FuzzDecodeTxnValue(f *testing.F) {
	for _, s := range []string{"", "[]", "[1]", "[1,2,3]", "[1,,2]", "[", "]", "[-1,9223372036854775807]", "[1,2", "[x]", "7", "[01]"} {
		f.Add([]byte(s), int64(1), int64(-2))
	}
	f.Fuzz(func(t *testing.T, b []byte, x, y int64) {
		v, err := decodeTxnValue(b)
		if list, ok := v.([]any); ok && err == nil {
			again, err := decodeTxnValue([]byte(encodeTxnValue(list)))
			if err != nil || !history.Equal(again, list) {
				t.Fatalf("decodeTxnValue(%q) = %v, written again and read back %v, %v", b, list, again, err)
			}
		}
		list := []any{x, y}
		if got, err := decodeTxnValue([]byte(encodeTxnValue(list))); err != nil || !history.Equal(got, list) {
			t.Fatalf("%v written and read back as %v, %v", list, got, err)
		}
	})
}

package etcd

import (
	"strconv"
	"testing"
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

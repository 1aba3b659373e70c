package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"4GiB", 4 << 30}, {"512MiB", 512 << 20}, {"1.5KiB", 1536}, {"1GB", 1e9}, {"1048576", 1 << 20}, {" 2 mib ", 2 << 20}, {"1e3B", 1000}, {"8EiB", 0}, {"9007199254740993", 9007199254740993}, {"8388608TiB", 0}} {
		got, err := parseBytes(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseBytes(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"NaN", "nanGiB", "Inf", "+Inf", "-Inf", "infinityMiB", "1e30GiB", "0.1B", "1.5B", "0", "-1GiB", "", "GiB", "0x10", "1_000", "1e-9GiB", "9223372036854775808"} {
		if got, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", bad, got)
		} else if !strings.Contains(err.Error(), "512MiB") {
			t.Errorf("parseBytes(%q): %v does not say what to write", bad, err)
		}
	}
	for _, bad := range []string{"NaN", "Inf", "1e30GiB", "0.1B"} {
		if code, _, errOut := runCLI(t, "check", "--max-memory", bad, "../../examples/register-linearizable.jsonl"); code != exitBad || !strings.Contains(errOut, "--max-memory") {
			t.Errorf("--max-memory %s: exit %d, %q; want 3", bad, code, errOut)
		}
	}
}

func TestParseInitial(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{{"0", "0"}, {`"a"`, `"a"`}, {"null", "null"}, {"[1,2]", "[1,2]"}, {`{"x":1}`, `{"x":1}`}, {" 7 ", "7"}} {
		v, err := parseInitial(tc.in)
		if err != nil {
			t.Errorf("parseInitial(%q): %v", tc.in, err)
			continue
		}
		if got, _ := json.Marshal(v); string(got) != tc.want {
			t.Errorf("parseInitial(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "{", "1 2", "NaN", "1e999", "-1e999", "[1e400]", `"a" x`} {
		if v, err := parseInitial(bad); err == nil {
			t.Errorf("parseInitial(%q) = %v, want an error", bad, v)
		}
	}
}

// FuzzParseBytes: any input is a whole positive number of bytes or an
// error; never a panic, never a default in disguise.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"4GiB", "512MiB", "1.5KiB", "NaN", "Inf", "1e30GiB", "0.1B", "", "-0", "0x1p10", "1e-400", "9223372036854775807", "8EiB", "1.0000000000000002B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseBytes(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 1 {
			t.Fatalf("parseBytes(%q) = %d", s, n)
		}
	})
}

// FuzzParseInitial: any input is one JSON value that writes back as JSON
// and reads back to the same JSON, or an error; never a panic.
func FuzzParseInitial(f *testing.F) {
	for _, s := range []string{"0", "null", `"a"`, "[1,[2]]", `{"k":1.5}`, "1e999", "123456789012345678901234567890", "-0", "1 2", "{", "\"\\ud800\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseInitial(s)
		if err != nil {
			return
		}
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("parseInitial(%q) = %v, which does not write back: %v", s, v, err)
		}
		again, err := parseInitial(string(data))
		if err != nil {
			t.Fatalf("parseInitial(%q) wrote back as %s, which does not read: %v", s, data, err)
		}
		// Written back, it reads as the same JSON (1.0 and 1 stay apart as
		// values, as in histories, but both write as 1).
		if data2, _ := json.Marshal(again); string(data2) != string(data) {
			t.Fatalf("parseInitial(%q) wrote back as %s, then as %s", s, data, data2)
		}
	})
}

package history

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseNumberIsExact(t *testing.T) {
	for _, c := range []struct {
		text string
		want any
	}{
		{"0", int64(0)},
		{"-0", int64(0)},
		{"42", int64(42)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", Number("9223372036854775808")},
		{"36893488147419103232", Number("36893488147419103232")},
		{"36893488147419103233", Number("36893488147419103233")},
		{"-36893488147419103233", Number("-36893488147419103233")},
		{"1.5", 1.5},
		{"1.50", 1.5},
		{"15e-1", 1.5},
		{"0.1", 0.1},
		{"1.0", 1.0},
		{"-0.0", negZero},
		{"0.10000000000000000001", Number("0.10000000000000000001")},
		{"0.30000000000000004", 0.30000000000000004},
		{"0.30000000000000005", Number("0.30000000000000005")},
		{"36893488147419103232.0", Number("36893488147419103232.0")},
		{"1e400", Number("1e400")},
		{"-1.5e-400", Number("-1.5e-400")},
		{"1e999999999", Number("1e999999999")},
		{"1e-999999999", Number("1e-999999999")},
		{"2.5e99999999999999999999999", Number("2.5e99999999999999999999999")},
		{"1.000000000000000000000e3", 1000.0},
		{"123456789012345678901234567890e-25", Number("12345.678901234567890123456789")},
		{"1e-30", 1e-30},
		{"1.00000000000000000000001e-30", Number("1.00000000000000000000001e-30")},
		{"0.000000000000000000000000000011", 1.1e-29},
		{"0.00000000000000000000000000001100000000000000000001", Number("1.100000000000000000001e-29")},
		{"0.0000000000000000000011000000000000000000001", Number("0.0000000000000000000011000000000000000000001")},
	} {
		got, err := ParseNumber(c.text)
		if err != nil {
			t.Errorf("ParseNumber(%q): %v", c.text, err)
			continue
		}
		if !Equal(got, c.want) || Canonical(got) != Canonical(c.want) {
			t.Errorf("ParseNumber(%q) = %#v (%s), want %#v (%s)", c.text, got, Canonical(got), c.want, Canonical(c.want))
		}
		if f, ok := c.want.(float64); ok && f == 0 && math.Signbit(f) != math.Signbit(got.(float64)) {
			t.Errorf("ParseNumber(%q) lost the sign of zero", c.text)
		}
		// The canonical text reads back as the same value.
		again, err := ParseNumber(Canonical(got))
		if err != nil || !Equal(again, got) {
			t.Errorf("ParseNumber(Canonical(%q) = %s) = %#v, %v: not the same value", c.text, Canonical(got), again, err)
		}
	}
	for _, bad := range []string{"", "-", "1e", "e5", "1.5.5", "0x10", "1_000", "NaN"} {
		if v, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) = %#v, want an error", bad, v)
		}
	}
}

func TestNumbersDistinct(t *testing.T) {
	pairs := [][2]string{
		{"36893488147419103232", "36893488147419103233"},
		{"0.1", "0.10000000000000000001"},
		{"0.30000000000000004", "0.30000000000000005"},
		{"1", "1.0"},
		{"36893488147419103232", "36893488147419103232.0"},
		{"1e400", "1e401"},
	}
	for _, p := range pairs {
		a, _ := ParseNumber(p[0])
		b, _ := ParseNumber(p[1])
		if Equal(a, b) || Canonical(a) == Canonical(b) {
			t.Errorf("%s and %s read as the same value %s", p[0], p[1], Canonical(a))
		}
	}
}

func TestNumberJSONAndRat(t *testing.T) {
	v := map[string]any{"n": Number("36893488147419103233"), "f": Number("0.10000000000000000001")}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"f":0.10000000000000000001,"n":36893488147419103233}`; string(b) != want {
		t.Errorf("json.Marshal = %s, want %s", b, want)
	}
	if got := string(appendJSON(nil, v)); got != string(b) {
		t.Errorf("appendJSON = %s, want %s", got, b)
	}
	if r, ok := Number("1.5e-400").Rat(); !ok || r.Sign() <= 0 {
		t.Errorf("Rat(1.5e-400) = %v, %v", r, ok)
	}
	if _, ok := Number("1e999999999").Rat(); ok {
		t.Error("Rat(1e999999999) expanded an absurd exponent")
	}
	if i, ok := Number("-36893488147419103233").BigInt(); !ok || i.String() != "-36893488147419103233" {
		t.Errorf("BigInt = %v, %v", i, ok)
	}
	if _, ok := Number("1e400").BigInt(); ok {
		t.Error("BigInt of a float succeeded")
	}
	if !Number("36893488147419103233").IsInteger() || Number("1e400").IsInteger() {
		t.Error("IsInteger is wrong")
	}
	if got := len(Canonical(mustNumber(t, "1e999999999"))); got > 20 {
		t.Errorf("canonical text of 1e999999999 takes %d bytes", got)
	}
	if s := Describe(Number(strings.Repeat("9", 100))); len(s) > 80 {
		t.Errorf("Describe is %d bytes long", len(s))
	}
}

func mustNumber(t *testing.T, s string) any {
	t.Helper()
	v, err := ParseNumber(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

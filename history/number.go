package history

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// Number is a number that neither int64 nor float64 holds exactly: an
// integer beyond int64's range, or a decimal whose value is not the
// shortest decimal form of any float64 (0.10000000000000000001, 1e400,
// 36893488147419103233.0). Readers produce it wherever storing the number
// as int64 or float64 would round it, so that two numbers that differ in
// their text's value are distinct values everywhere.
//
// Its string is the number's canonical decimal text, which is valid JSON
// and EDN: an optional minus sign, the significant digits without leading
// or trailing zeros, and the exponent, written positionally when that
// needs at most 20 padding zeros ("36893488147419103233",
// "0.10000000000000000001", "36893488147419103232.0") and in scientific
// notation otherwise ("1e999999999", "-1.5e-400"). An integer's text has no
// '.' and no 'e'; a non-integer's (a float read from text with a fraction
// or an exponent) always has one, so that integers and floats stay
// distinct as they are for int64 and float64. Two Numbers are equal
// exactly when their strings are, so Number works with == and as a map
// key; 1.50 and 1.5 read as the same value.
//
// A float64 stands for the decimal its shortest text names (as strconv's
// 'g' format with precision -1 writes it), so a Number is never equal to
// an int64 or a float64. Number marshals as a JSON number.
type Number string

// String returns the canonical decimal text.
func (n Number) String() string { return string(n) }

// MarshalJSON writes the number as a JSON number, its canonical text.
func (n Number) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// IsInteger reports whether the number was read as an integer (its text
// has neither a fraction nor an exponent).
func (n Number) IsInteger() bool { return !strings.ContainsAny(string(n), ".e") }

// Sign returns -1, 0 or +1 for a negative, zero or positive number (a
// Number is never zero, but its zero value "" reports 0).
func (n Number) Sign() int {
	switch {
	case n == "":
		return 0
	case n[0] == '-':
		return -1
	}
	return 1
}

// BigInt returns the number as a big.Int, or false when it is not an
// integer.
func (n Number) BigInt() (*big.Int, bool) {
	if !n.IsInteger() {
		return nil, false
	}
	return new(big.Int).SetString(string(n), 10)
}

// maxRatExponent bounds the decimal exponent Rat expands, so that 1e999999999
// cannot take gigabytes.
const maxRatExponent = 10000

// Rat returns the number's exact value as a big.Rat, or false when its
// decimal exponent is beyond ±10,000 (the value would take too much memory
// to hold exactly).
func (n Number) Rat() (*big.Rat, bool) {
	if i := strings.IndexByte(string(n), 'e'); i >= 0 {
		x, err := strconv.ParseInt(string(n[i+1:]), 10, 64)
		if err != nil || x > maxRatExponent || x < -maxRatExponent {
			return nil, false
		}
	}
	return new(big.Rat).SetString(string(n))
}

// ParseNumber reads a decimal number written as JSON writes numbers
// (-12, 3.25, 1.5e-7; a leading '+' and leading zeros are accepted too) and
// returns it exactly: an int64 for an integer that fits, a float64 for a
// number with a fraction or an exponent whose value is the shortest text
// of that float64, and a Number otherwise. It never rounds, and it takes
// memory proportional to the text whatever the exponent.
func ParseNumber(text string) (any, error) {
	var d decimal
	if !d.parse(text) {
		return nil, errors.New("not a decimal number")
	}
	return d.value(text), nil
}

// decimal is a parsed decimal number: neg, the significant digits (without
// leading zeros; trailing zeros are stripped for non-integers) and the
// exponent, so that the value is digits × 10^exp. exp is held as text
// arithmetic only when it does not fit an int64 (bigExp).
type decimal struct {
	neg     bool
	integer bool   // written without fraction or exponent
	digits  []byte // significant digits; empty for zero
	exp     int64
	bigExp  *big.Int // the exponent when it does not fit exp
}

// parse reads [+-]digits[.digits][(e|E)[+-]digits].
func (d *decimal) parse(s string) bool {
	*d = decimal{integer: true}
	if s != "" && (s[0] == '+' || s[0] == '-') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	i := skipDigits(s, 0)
	if i == 0 {
		return false
	}
	intPart, frac := s[:i], ""
	if i < len(s) && s[i] == '.' { // EDN allows "1.", JSON does not reach here with it
		j := skipDigits(s, i+1)
		frac, i = s[i+1:j], j
		d.integer = false
	}
	expText := ""
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false
		}
		expText, i = s[start:j], j
		d.integer = false
	}
	if i != len(s) {
		return false
	}
	digits := make([]byte, 0, len(intPart)+len(frac))
	digits = append(append(digits, intPart...), frac...)
	k := 0
	for k < len(digits) && digits[k] == '0' {
		k++
	}
	digits = digits[k:]
	exp := -int64(len(frac))
	if !d.integer {
		for len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
			exp++
		}
	}
	d.digits = digits
	if expText != "" {
		e, err := strconv.ParseInt(expText, 10, 64)
		if err != nil || e > 1<<60 || e < -(1<<60) {
			b, _ := new(big.Int).SetString(strings.TrimPrefix(expText, "+"), 10)
			d.bigExp = b.Add(b, big.NewInt(exp))
			return true
		}
		exp += e
	}
	d.exp = exp
	return true
}

// value returns the decimal as an int64, float64 or Number; text is what
// it was parsed from.
func (d *decimal) value(text string) any {
	if d.integer {
		if len(d.digits) <= 18 {
			var n int64
			for _, c := range d.digits {
				n = n*10 + int64(c-'0')
			}
			if d.neg {
				n = -n
			}
			return n
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
		return Number(d.format())
	}
	if len(d.digits) == 0 {
		if d.neg {
			return negZero
		}
		return 0.0
	}
	if d.bigExp == nil && len(d.digits) <= 17 && d.exp > -400 && d.exp < 400 {
		f, err := strconv.ParseFloat(text, 64)
		if err == nil && d.isShortest(f) {
			return f
		}
	}
	return Number(d.format())
}

// negZero is -0.0, which a constant expression cannot write.
var negZero = func() float64 { z := 0.0; return -z }()

// isShortest reports whether f's shortest decimal text has d's value.
func (d *decimal) isShortest(f float64) bool {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±xx
	if s[0] == '-' {
		s = s[1:]
	}
	e := 0
	for e < len(s) && s[e] != 'e' {
		e++
	}
	mant, x := s[:e], s[e+1:]
	x10, err := strconv.ParseInt(string(x), 10, 64)
	if err != nil {
		return false
	}
	// mant is d or d.ddd without trailing zeros (0 only for zero).
	n := 0
	for _, c := range mant {
		if c == '.' {
			continue
		}
		if n >= len(d.digits) || d.digits[n] != c {
			return false
		}
		n++
	}
	return n == len(d.digits) && x10-int64(n)+1 == d.exp
}

// maxPadding is the most zeros the canonical text pads a number with
// before it switches to scientific notation.
const maxPadding = 20

// format returns the canonical text Number documents.
func (d *decimal) format() string {
	var b strings.Builder
	if d.neg && len(d.digits) > 0 {
		b.WriteByte('-')
	}
	digits := string(d.digits)
	if len(digits) == 0 {
		digits = "0"
	}
	n := int64(len(digits))
	switch {
	case d.bigExp != nil:
		// Scientific, the exponent as big integer arithmetic.
		x := new(big.Int).Add(d.bigExp, big.NewInt(n-1))
		writeScientific(&b, digits, x.String())
	case d.integer:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", int(max(d.exp, 0))))
	case d.exp >= 0 && d.exp <= maxPadding:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", int(d.exp)))
		b.WriteString(".0")
	case d.exp < 0 && -d.exp < n:
		b.WriteString(digits[:n+d.exp])
		b.WriteByte('.')
		b.WriteString(digits[n+d.exp:])
	case d.exp < 0 && -d.exp-n <= maxPadding:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", int(-d.exp-n)))
		b.WriteString(digits)
	default:
		writeScientific(&b, digits, strconv.FormatInt(d.exp+n-1, 10))
	}
	return b.String()
}

func writeScientific(b *strings.Builder, digits, x string) {
	b.WriteByte(digits[0])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('e')
	b.WriteString(x)
}

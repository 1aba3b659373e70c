package history

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads Jepsen's EDN histories with a hand-written lexer and
// parser, so that every error names its line and large histories read fast.
//
// EDN values are normalised as the package documents: keywords and symbols
// become strings without the colon, characters one-character strings,
// numbers exactly as ParseNumber gives them (int64, float64 or Number;
// integers with N, decimals with M and ratios included: a ratio that has no
// exact decimal value, such as 1/3, is refused), vectors, lists and sets []any, maps map[string]any, and a tagged
// literal such as #inst "..." its inner value. A map key that is a keyword,
// symbol, string or character becomes its name; any other key becomes its
// Canonical form.

// maxEDNDepth bounds the nesting of EDN forms. It keeps the reader from
// exhausting the stack and keeps every history it accepts writable as JSON
// Lines: encoding/json refuses to read nesting deeper than 10,000.
const maxEDNDepth = 1000

// maxInterned bounds the table of interned keyword and symbol names.
const maxInterned = 4096

const (
	fixEDN = "write the history as Jepsen EDN: op maps such as {:process 0, :type :invoke, :f :read, :value nil}, one per line or all inside one vector"
	fixOp  = "every op map needs :type (:invoke, :ok, :fail or :info), :process (an integer or :nemesis) and :f"
)

// ednKind tells how a form was written, for map keys: a keyword, symbol,
// string or character key becomes its name.
type ednKind uint8

const (
	ednOther  ednKind = iota
	ednName           // keyword or symbol
	ednString         // string or character
)

// ednParser reads EDN from data, counting lines as it goes.
type ednParser struct {
	data  []byte
	pos   int
	line  int
	name  string
	depth int
	// stack collects the elements of the collections being read, so each
	// collection is allocated once at its final size.
	stack []any
	// names interns keyword and symbol names: histories repeat a few.
	names map[string]string
	// loose and missingF record that some op map had no :process or no
	// :f, for resolveLoose.
	loose, missingF bool
}

// delimiters marks the bytes that end a token: whitespace, commas and the
// characters that start or end another form.
var delimiters = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r\f\v,()[]{}\";\\^@~`") {
		t[c] = true
	}
	return t
}()

func newEDNParser(data []byte, name string, line int) *ednParser {
	return &ednParser{data: data, name: name, line: line}
}

// parseEDN reads a Jepsen EDN history: op maps one after another (Elle's
// and Jepsen's history.edn) or one vector or list of op maps (Knossos).
// After reading it completes the op maps of Elle's loose form, renames
// Knossos's multi-register micro-ops and lifts jepsen.independent tuples
// into keys; see resolveLoose, knossosMicroOps and liftIndependent.
func parseEDN(data []byte, name string) ([]Event, error) {
	p := newEDNParser(data, name, 1)
	events, err := p.readHistory()
	if err != nil {
		return nil, err
	}
	if err := p.resolveLoose(events); err != nil {
		return nil, err
	}
	liftIndependent(events)
	knossosMicroOps(events)
	return events, nil
}

// parseEDNForm reads exactly one EDN form from data, a piece of the file
// name that starts on line line.
func parseEDNForm(data []byte, name string, line int) (any, error) {
	p := newEDNParser(data, name, line)
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf(line, fixEDN, "expected a value, found nothing")
	}
	v, _, err := p.readForm()
	if err != nil {
		return nil, err
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos < len(p.data) {
		return nil, p.errorf(p.line, fixEDN, "unexpected %s after the value", p.describe())
	}
	return v, nil
}

func (p *ednParser) errorf(line int, fix, format string, args ...any) error {
	return &Error{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...), Fix: fix}
}

// readHistory reads the top level: op maps one after another, or one vector
// or list of op maps.
func (p *ednParser) readHistory() ([]Event, error) {
	if err := p.skip(); err != nil {
		return nil, err
	}
	var events []Event
	var err error
	if p.pos < len(p.data) && (p.data[p.pos] == '[' || p.data[p.pos] == '(') {
		events, err = p.readOpCollection()
	} else {
		events, err = p.readOpSequence()
	}
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, &Error{File: p.name, Msg: "the history is empty: it holds no op maps", Fix: fixEDN}
	}
	return events, nil
}

// eventsCap guesses how many events the input holds, from its lines, so
// the events slice is allocated once.
func (p *ednParser) eventsCap() int {
	return bytes.Count(p.data[p.pos:], []byte{'\n'}) + 1
}

// readOpSequence reads op maps one after another until the input ends.
func (p *ednParser) readOpSequence() ([]Event, error) {
	events := make([]Event, 0, p.eventsCap())
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return events, nil
		}
		if !p.atOpMap() {
			return nil, p.errorf(p.line, fixEDN, "expected an op map at the top level, found %s", p.describe())
		}
		e, err := p.readOp(len(events))
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
}

// readOpCollection reads one vector or list of op maps, Knossos style, and
// checks that nothing but comments follows it.
func (p *ednParser) readOpCollection() ([]Event, error) {
	start, open := p.line, p.data[p.pos]
	what, closer := "vector", byte(']')
	if open == '(' {
		what, closer = "list", ')'
	}
	p.pos++
	events := make([]Event, 0, p.eventsCap())
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.errorf(start, "add the closing "+string(closer)+", or restore the rest of the file if it was cut short",
				"the top-level %s opened on line %d is never closed: the input ends on line %d", what, start, p.line)
		}
		if c := p.data[p.pos]; c == closer {
			p.pos++
			break
		} else if isCloser(c) {
			return nil, p.errorf(p.line, fixEDN, "unexpected %q: the top-level %s opened on line %d must be closed by %q", c, what, start, closer)
		}
		if !p.atOpMap() {
			return nil, p.errorf(p.line, fixEDN, "element %d of the top-level %s is %s, not an op map", len(events), what, p.describe())
		}
		e, err := p.readOp(len(events))
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	end := p.line
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos < len(p.data) {
		return nil, p.errorf(p.line, "a Knossos history is one vector of op maps; an Elle history is op maps one per line without a vector",
			"unexpected %s after the top-level %s that closed on line %d", p.describe(), what, end)
	}
	return events, nil
}

// atOpMap reports whether an op map starts here, skipping a record tag such
// as #jepsen.history.Op in front of it.
func (p *ednParser) atOpMap() bool {
	if p.data[p.pos] == '{' {
		return true
	}
	if p.data[p.pos] != '#' || p.pos+1 >= len(p.data) || !isTagStart(p.data[p.pos+1]) {
		return false
	}
	pos, line := p.pos, p.line
	p.pos++
	p.token()
	if p.skipSpace(); p.pos < len(p.data) && p.data[p.pos] == '{' {
		return true
	}
	p.pos, p.line = pos, line
	return false
}

// describe names the form that starts at the current position, for
// messages.
func (p *ednParser) describe() string {
	if p.pos >= len(p.data) {
		return "the end of the input"
	}
	switch c := p.data[p.pos]; {
	case c == '[':
		return "a vector"
	case c == '(':
		return "a list"
	case c == '{':
		return "a map"
	case c == '"':
		return "a string"
	case c == '\\':
		return "a character"
	case c == '#' && p.pos+1 < len(p.data) && p.data[p.pos+1] == '{':
		return "a set"
	case c == '#':
		return "a # form"
	case isCloser(c):
		return fmt.Sprintf("an unmatched %q", c)
	case delimiters[c]:
		return fmt.Sprintf("the character %q", c)
	}
	end := p.pos
	for end < len(p.data) && !delimiters[p.data[end]] && end-p.pos < 40 {
		end++
	}
	return fmt.Sprintf("%q", p.data[p.pos:end])
}

func isCloser(c byte) bool { return c == ')' || c == ']' || c == '}' }

func isTagStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// skipSpace skips whitespace, commas and comments.
func (p *ednParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\n':
			p.line++
			p.pos++
		case ' ', '\t', '\r', ',', '\f', '\v':
			p.pos++
		case ';':
			if i := bytes.IndexByte(p.data[p.pos:], '\n'); i >= 0 {
				p.pos += i
			} else {
				p.pos = len(p.data)
			}
		default:
			return
		}
	}
}

// skip skips whitespace, commas, comments and discarded (#_) forms.
func (p *ednParser) skip() error {
	for {
		p.skipSpace()
		if p.pos+1 >= len(p.data) || p.data[p.pos] != '#' || p.data[p.pos+1] != '_' {
			return nil
		}
		if err := p.discard(); err != nil {
			return err
		}
	}
}

// discard reads and drops the form after the #_ at the current position.
func (p *ednParser) discard() error {
	if p.depth >= maxEDNDepth {
		return p.errorf(p.line, "flatten the value", "values are nested more than %d levels deep", maxEDNDepth)
	}
	line := p.line
	p.pos += 2
	p.depth++
	_, _, err := p.readNext("#_", line)
	p.depth--
	return err
}

// readNext skips to and reads the form that prefix (#_ or a tag such as
// #inst) on line applies to.
func (p *ednParser) readNext(prefix string, line int) (any, ednKind, error) {
	if err := p.skip(); err != nil {
		return nil, 0, err
	}
	if p.pos >= len(p.data) || isCloser(p.data[p.pos]) {
		return nil, 0, p.errorf(line, fixEDN, "the %s on line %d is followed by %s instead of a value", prefix, line, p.describe())
	}
	return p.readForm()
}

// readForm reads the form that starts at the current position, which is
// neither the end of the input nor whitespace.
func (p *ednParser) readForm() (any, ednKind, error) {
	if p.depth >= maxEDNDepth {
		return nil, 0, p.errorf(p.line, "flatten the value", "values are nested more than %d levels deep", maxEDNDepth)
	}
	p.depth++
	v, kind, err := p.readFormAt(p.data[p.pos])
	p.depth--
	return v, kind, err
}

// readFormAt reads the form whose first byte, c, is at the current position.
func (p *ednParser) readFormAt(c byte) (any, ednKind, error) {
	switch c {
	case '"':
		s, err := p.readString()
		return s, ednString, err
	case '[':
		v, err := p.readSeq(']', "vector")
		return v, ednOther, err
	case '(':
		v, err := p.readSeq(')', "list")
		return v, ednOther, err
	case '{':
		v, err := p.readMap()
		return v, ednOther, err
	case '#':
		return p.readDispatch()
	case '\\':
		s, err := p.readChar()
		return s, ednString, err
	}
	if isCloser(c) {
		return nil, 0, p.errorf(p.line, "remove it, or the opening bracket it was meant to close is missing", "unexpected %q: nothing is open that it could close", c)
	}
	return p.readToken()
}

// readSeq reads a vector, list or set; the current byte opens it.
func (p *ednParser) readSeq(closer byte, what string) ([]any, error) {
	start := p.line
	p.pos++
	base := len(p.stack)
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if err := p.checkOpen(closer, what, start); err != nil {
			return nil, err
		}
		if p.data[p.pos] == closer {
			p.pos++
			break
		}
		v, _, err := p.readForm()
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, v)
	}
	out := make([]any, len(p.stack)-base)
	copy(out, p.stack[base:])
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return out, nil
}

// checkOpen fails when the collection opened on line start cannot go on:
// the input ends, or a bracket other than closer closes it.
func (p *ednParser) checkOpen(closer byte, what string, start int) error {
	if p.pos >= len(p.data) {
		return p.errorf(start, "add the closing "+string(closer)+", or restore the rest of the file if it was cut short",
			"the %s opened on line %d is never closed: the input ends on line %d", what, start, p.line)
	}
	if c := p.data[p.pos]; c != closer && isCloser(c) {
		return p.errorf(p.line, fmt.Sprintf("close the %s with %q", what, closer),
			"unexpected %q: the %s opened on line %d is still open", c, what, start)
	}
	return nil
}

// readMap reads a map; the current byte is its '{'.
func (p *ednParser) readMap() (map[string]any, error) {
	start := p.line
	p.pos++
	m := make(map[string]any)
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if err := p.checkOpen('}', "map", start); err != nil {
			return nil, err
		}
		if p.data[p.pos] == '}' {
			p.pos++
			return m, nil
		}
		keyLine := p.line
		k, kind, v, err := p.readEntry(start)
		if err != nil {
			return nil, err
		}
		key := mapKey(k, kind)
		if _, dup := m[key]; dup {
			return nil, p.errorf(keyLine, "remove one of the two entries", "the map opened on line %d has the key %s twice", start, Describe(k))
		}
		m[key] = v
	}
}

// readEntry reads a map's key and value; the key starts at the current
// position.
func (p *ednParser) readEntry(start int) (k any, kind ednKind, v any, err error) {
	keyLine := p.line
	if k, kind, err = p.readForm(); err != nil {
		return nil, 0, nil, err
	}
	if err = p.skip(); err != nil {
		return nil, 0, nil, err
	}
	if err = p.checkOpen('}', "map", start); err != nil {
		return nil, 0, nil, err
	}
	if p.data[p.pos] == '}' {
		return nil, 0, nil, p.errorf(keyLine, "a map holds key-value pairs: give the key a value or remove it",
			"the map opened on line %d has an odd number of forms: its key %s has no value", start, Describe(k))
	}
	v, _, err = p.readForm()
	return k, kind, v, err
}

// mapKey returns the normalised map key for a key form.
func mapKey(k any, kind ednKind) string {
	if s, ok := k.(string); ok && kind != ednOther {
		return s
	}
	return Canonical(k)
}

// readDispatch reads a form that starts with '#': a set, a symbolic value
// (##Inf), a discard or a tagged literal.
func (p *ednParser) readDispatch() (any, ednKind, error) {
	line := p.line
	if p.pos+1 >= len(p.data) {
		return nil, 0, p.errorf(line, fixEDN, "a lone # at the end of the input")
	}
	switch c := p.data[p.pos+1]; {
	case c == '{':
		p.pos++
		v, err := p.readSeq('}', "set")
		return v, ednOther, err
	case c == '#':
		p.pos += 2
		return p.readSymbolic(line)
	case c == '_': // skip normally consumes discards before a form starts
		if err := p.discard(); err != nil {
			return nil, 0, err
		}
		return p.readNext("form after a discarded one", line)
	case isTagStart(c):
		p.pos++
		tag := p.token()
		return p.readNext("tag #"+string(tag), line)
	}
	return nil, 0, p.errorf(line, fixEDN, "%q is not an EDN form: # must start a set #{...}, a tag such as #inst or a discard #_", p.prefix(2))
}

// readSymbolic reads the name after "##".
func (p *ednParser) readSymbolic(line int) (any, ednKind, error) {
	switch tok := p.token(); string(tok) {
	case "Inf":
		return math.Inf(1), ednOther, nil
	case "-Inf":
		return math.Inf(-1), ednOther, nil
	case "NaN":
		return math.NaN(), ednOther, nil
	default:
		return nil, 0, p.errorf(line, "use ##Inf, ##-Inf or ##NaN", "unknown symbolic value ##%s", tok)
	}
}

// prefix returns up to n runes from the current position, for messages.
func (p *ednParser) prefix(n int) string {
	end := p.pos
	for i := 0; i < n && end < len(p.data); i++ {
		_, size := utf8.DecodeRune(p.data[end:])
		end += size
	}
	return string(p.data[p.pos:end])
}

// token consumes and returns the run of token bytes at the current
// position.
func (p *ednParser) token() []byte {
	start := p.pos
	for p.pos < len(p.data) && !delimiters[p.data[p.pos]] {
		p.pos++
	}
	return p.data[start:p.pos]
}

// readToken reads a number, keyword, symbol, nil, true or false.
func (p *ednParser) readToken() (any, ednKind, error) {
	line := p.line
	tok := p.token()
	if len(tok) == 0 {
		return nil, 0, p.errorf(line, fixEDN, "unexpected character %q", p.prefix(1))
	}
	c := tok[0]
	switch {
	case isDigit(c) || (c == '+' || c == '-') && len(tok) > 1 && isDigit(tok[1]):
		if n, ok := smallInt(tok); ok {
			return n, ednOther, nil
		}
		v, err := parseNumber(tok)
		if err != nil {
			return nil, 0, p.errorf(line, "write integers like 42 or -7, floats like 1.5 or 2e10, ratios like 3/4", "invalid number %q: %v", tok, err)
		}
		return v, ednOther, nil
	case c == ':':
		if len(tok) == 1 || tok[1] == ':' || tok[1] == '/' {
			return nil, 0, p.errorf(line, "write a keyword as :name or :namespace/name", "invalid keyword %q", tok)
		}
		return p.intern(tok[1:]), ednName, nil
	case c == '\'':
		return nil, 0, p.errorf(line, "EDN has no quoting: remove the '", "unexpected quote in %q", tok)
	}
	switch string(tok) {
	case "nil":
		return nil, ednOther, nil
	case "true":
		return true, ednOther, nil
	case "false":
		return false, ednOther, nil
	}
	return p.intern(tok), ednName, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// intern returns b as a string, sharing the string among repeated names.
func (p *ednParser) intern(b []byte) string {
	if s, ok := p.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.names == nil {
		p.names = make(map[string]string)
	}
	if len(p.names) < maxInterned {
		p.names[s] = s
	}
	return s
}

// smallInt parses the common case quickly: a decimal integer of at most 18
// digits, optionally negative, without a leading zero.
func smallInt(tok []byte) (int64, bool) {
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	if len(tok) == 0 || len(tok) > 18 || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseNumber parses an EDN integer (optionally with an N suffix, in
// decimal, 0x hexadecimal or 0 octal), float (optionally with an M suffix)
// or ratio.
func parseNumber(tok []byte) (any, error) {
	s := string(tok)
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return parseRatio(s[:i], s[i+1:])
	}
	if strings.HasSuffix(s, "N") {
		return parseInteger(s[:len(s)-1])
	}
	if strings.HasSuffix(s, "M") {
		s = s[:len(s)-1]
		if !strings.ContainsAny(s, ".eE") {
			s += ".0" // a BigDecimal is a decimal even when written without a point
		}
		return parseFloat(s)
	}
	if strings.ContainsAny(s, ".eE") && !isHex(s) {
		return parseFloat(s)
	}
	return parseInteger(s)
}

func isHex(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")
}

// parseInteger parses a decimal, hexadecimal or octal integer, returning an
// int64, or a Number when it does not fit.
func parseInteger(s string) (any, error) {
	sign, digits := splitSign(s)
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		base, digits = 16, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return !isBaseDigit(r, base) }) >= 0 {
		return nil, fmt.Errorf("not a base-%d integer", base)
	}
	if n, err := strconv.ParseInt(sign+digits, base, 64); err == nil {
		return n, nil
	}
	var b big.Int
	b.SetString(sign+digits, base)
	return Number(b.String()), nil
}

func isBaseDigit(r rune, base int) bool {
	switch {
	case r >= '0' && r <= '9':
		return int(r-'0') < base
	case base == 16 && (r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'):
		return true
	}
	return false
}

func splitSign(s string) (sign, rest string) {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[:1], s[1:]
	}
	return "", s
}

// parseFloat parses [+-]digits[.digits][e[+-]digits].
func parseFloat(s string) (any, error) {
	if !isDecimalFloat(s) {
		return nil, errors.New("not a decimal number")
	}
	return ParseNumber(s)
}

func isDecimalFloat(s string) bool {
	_, s = splitSign(s)
	i := skipDigits(s, 0)
	if i == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i = skipDigits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// parseRatio parses n/d exactly: an integer when d divides n (as Clojure
// reads 4/2), else the decimal it equals (3/4 is 0.75). A ratio with no
// exact decimal value, such as 1/3, is refused: consist compares numbers
// exactly and holds no fractions.
func parseRatio(num, den string) (any, error) {
	_, nd := splitSign(num)
	if nd == "" || skipDigits(nd, 0) != len(nd) || den == "" || skipDigits(den, 0) != len(den) {
		return nil, errors.New("a ratio is two decimal integers like 1/3")
	}
	n, _ := new(big.Int).SetString(num, 10)
	d, _ := new(big.Int).SetString(den, 10)
	if d.Sign() == 0 {
		return nil, errors.New("the denominator is zero")
	}
	r := new(big.Rat).SetFrac(n, d)
	if r.IsInt() {
		return ParseNumber(r.Num().String())
	}
	// A reduced fraction is an exact decimal when its denominator has no
	// prime factor but 2 and 5; k fraction digits then suffice, k the
	// larger of the two exponents.
	rest, k := new(big.Int).Set(r.Denom()), 0
	for _, p := range []int64{2, 5} {
		e, q, m, bp := 0, new(big.Int), new(big.Int), big.NewInt(p)
		for {
			q.QuoRem(rest, bp, m)
			if m.Sign() != 0 {
				break
			}
			rest.Set(q)
			e++
		}
		k = max(k, e)
	}
	if rest.Cmp(big.NewInt(1)) != 0 {
		return nil, fmt.Errorf("%s/%s has no exact decimal value, and consist compares numbers exactly; write it as an integer or a decimal", num, den)
	}
	return ParseNumber(r.FloatString(k))
}

// readString reads a string; the current byte is its opening quote.
func (p *ednParser) readString() (string, error) {
	start := p.line
	p.pos++
	for i := p.pos; i < len(p.data); i++ {
		switch p.data[i] {
		case '"':
			s := string(p.data[p.pos:i])
			p.pos = i + 1
			return s, nil
		case '\\':
			var b strings.Builder
			b.Write(p.data[p.pos:i])
			p.pos = i
			return p.readEscapedString(&b, start)
		case '\n':
			p.line++
		}
	}
	p.pos = len(p.data)
	return "", p.unclosedString(start)
}

func (p *ednParser) unclosedString(start int) error {
	return p.errorf(start, `add the closing ", or restore the rest of the file if it was cut short`,
		"the string opened on line %d is never closed: the input ends on line %d", start, p.line)
}

// readEscapedString reads the rest of a string that holds escapes into b.
func (p *ednParser) readEscapedString(b *strings.Builder, start int) (string, error) {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if err := p.readEscape(b); err != nil {
				return "", err
			}
			continue
		case '\n':
			p.line++
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.unclosedString(start)
}

// readEscape reads one escape sequence in a string into b.
func (p *ednParser) readEscape(b *strings.Builder) error {
	if p.pos+1 >= len(p.data) {
		p.pos = len(p.data)
		return nil // the caller reports the unclosed string
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case '"', '\\', '\'':
		b.WriteByte(c)
	case 'u':
		r, err := p.readUnicodeEscape()
		if err != nil {
			return err
		}
		b.WriteRune(r)
	default:
		return p.errorf(p.line, `escape only \n \t \r \b \f \" \\ and \uXXXX`, "unknown escape %q in a string", p.data[p.pos-2:p.pos])
	}
	return nil
}

// readUnicodeEscape reads the XXXX of \uXXXX (the \u is consumed) and, for
// a UTF-16 surrogate pair, the \uXXXX after it.
func (p *ednParser) readUnicodeEscape() (rune, error) {
	r, ok := hex4(p.data[p.pos:])
	if !ok {
		return 0, p.errorf(p.line, `write \u followed by four hexadecimal digits`, "invalid \\u escape %q in a string", p.prefix(4))
	}
	p.pos += 4
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if rest := p.data[p.pos:]; len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
		if r2, ok := hex4(rest[2:]); ok {
			if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
				p.pos += 6
				return pair, nil
			}
		}
	}
	return utf8.RuneError, nil
}

// hex4 decodes four hexadecimal digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// readChar reads a character literal such as \a, \newline or \u00e9; the
// current byte is its backslash.
func (p *ednParser) readChar() (string, error) {
	line := p.line
	p.pos++
	if p.pos >= len(p.data) {
		return "", p.errorf(line, `write a character as \a, \newline, \space, \tab or \uXXXX`, "a backslash at the end of the input")
	}
	r, size := utf8.DecodeRune(p.data[p.pos:])
	if r == '\n' {
		p.line++
	}
	p.pos += size
	rest := p.token()
	if len(rest) == 0 {
		return string(r), nil
	}
	name := string(p.data[p.pos-len(rest)-size : p.pos])
	if s, ok := namedChar(name); ok {
		return s, nil
	}
	return "", p.errorf(line, `write a character as \a, \newline, \space, \tab or \uXXXX`, "unknown character literal \\%s", name)
}

// namedChar returns the character a multi-letter character literal names.
func namedChar(name string) (string, bool) {
	switch name {
	case "newline":
		return "\n", true
	case "space":
		return " ", true
	case "tab":
		return "\t", true
	case "return":
		return "\r", true
	case "backspace":
		return "\b", true
	case "formfeed":
		return "\f", true
	}
	if len(name) == 5 && name[0] == 'u' {
		if r, ok := hex4([]byte(name[1:])); ok {
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			return string(r), true
		}
	}
	if len(name) >= 2 && len(name) <= 4 && name[0] == 'o' {
		if n, err := strconv.ParseUint(name[1:], 8, 16); err == nil && n <= 0377 {
			return string(rune(n)), true
		}
	}
	return "", false
}

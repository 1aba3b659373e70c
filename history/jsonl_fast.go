package history

import (
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// fastDecoder decodes JSON Lines events in one pass over the line, without
// encoding/json and without the intermediate map, several times faster
// than decodeEventJSON.
//
// It accepts only lines whose meaning is plain: one JSON object, no
// whitespace but JSON's, no duplicate or unknown field, no escape in a
// field name, type a known type, process "nemesis" or a non-negative
// integer of at most 18 digits, f and node strings or null, f non-empty
// unless the process is the nemesis, time and index null or such integers,
// strings valid UTF-8, values nested at most maxFastDepth deep. On
// anything else, valid or not, event reports false and the caller decodes
// the line with decodeEventJSON, which is the reference: every error
// message, and the event of every unusual line, comes from it. For the
// lines it accepts, event returns exactly what decodeEventJSON returns:
// the same normalised values (int64, float64 or Number as ParseNumber
// gives them, []any, map[string]any with the last of
// duplicate keys) and strings unescaped as encoding/json unescapes them.
// FuzzJSONLFastMatchesSlow checks this.
//
// A fastDecoder shares the short strings it decodes (f, node, string
// values) between events, and lists: short arrays of plain scalars (a
// transaction's micro-ops), and the lists a transaction read of a key,
// each a prefix of the longest read of the key so far (values are never
// changed in place, so sharing only saves memory and time); its zero
// value shares nothing and is ready to use. It is not safe for concurrent
// use.
type fastDecoder struct {
	b []byte // the line
	i int    // the next byte to read

	strs map[string]string  // interned f, node and error strings
	vals map[string]any     // interned string values, boxed once
	ints *[intCacheSize]any // recently boxed integers, by value
	// reads maps a key to the longest list a txn read ["r", key, [...]]
	// of it returned so far: a later read that returns a prefix of it
	// shares its storage (the reads of a list-append key return the
	// prefixes of one list, and hold most of such a history's values).
	reads map[any]*sharedRead
	// arrays caches short arrays of plain scalars (a micro-op such as
	// ["append", 3, 7], which a transaction's completion repeats, or
	// ["r", 3, null], which every invocation reading key 3 holds), boxed,
	// each in the slot the hash of its text picks.
	arrays *[arrayCacheSize]any
	// stack holds the elements of the arrays being decoded, so that each
	// array is allocated once, at its final length.
	stack []any
}

// arrayCacheSize is the number of short arrays a fastDecoder keeps, and
// maxCachedArray the longest array it keeps.
const (
	arrayCacheSize = 8192
	maxCachedArray = 4
)

// maxSharedReads bounds the keys whose reads a fastDecoder shares, so that
// a history of many keys costs no more memory than without sharing.
const maxSharedReads = 1 << 20

// intCacheSize is the number of boxed integers a fastDecoder keeps, each
// in the slot its value modulo the size picks. Go boxes an int64 from 0
// to 255 without allocating; every other integer value costs an
// allocation of its own, and a history repeats its values: a write's in its
// invocation, its completion and the reads that see it, an append's list
// element in every later read of the key.
const intCacheSize = 4096

// maxFastDepth bounds the nesting of values the fast path decodes; deeper
// lines go to encoding/json, which has its own limit.
const maxFastDepth = 64

// maxInternLen bounds the strings the intern tables hold, and maxInterned
// (edn.go) their size, so that a history of distinct strings costs no
// more memory than without them.
const maxInternLen = 32

func newFastDecoder() *fastDecoder {
	return &fastDecoder{strs: map[string]string{}, vals: map[string]any{}, ints: new([intCacheSize]any), reads: map[any]*sharedRead{}, arrays: new([arrayCacheSize]any)}
}

// event decodes line as decodeEventJSON would, or reports false if the
// line is not one the fast path handles.
func (d *fastDecoder) event(line []byte) (e Event, ok bool) {
	d.b, d.i = line, 0
	if !d.byte('{') {
		return Event{}, false
	}
	e = Event{Index: -1, Time: NoTime}
	var seen int
	var key any
	for {
		d.space()
		name, ok := d.plainString()
		if !ok {
			return Event{}, false
		}
		field := -1 // the fieldType, ... constants of ednop.go
		switch string(name) {
		case "type":
			field = fieldType
		case "process":
			field = fieldProcess
		case "f":
			field = fieldF
		case "key":
			field = fieldKey
		case "value":
			field = fieldValue
		case "time":
			field = fieldTime
		case "index":
			field = fieldIndex
		case "node":
			field = fieldNode
		case "error":
			field = fieldError
		}
		if field < 0 || seen&(1<<field) != 0 {
			return Event{}, false // unknown or duplicate field
		}
		seen |= 1 << field
		d.space()
		if !d.byte(':') {
			return Event{}, false
		}
		d.space()
		switch field {
		case fieldType:
			ok = d.eventType(&e.Type)
		case fieldProcess:
			if d.peek() == '"' {
				var s []byte
				s, ok = d.plainString()
				ok = ok && string(s) == "nemesis"
				e.Process = Nemesis
			} else {
				var n int64
				n, ok = d.count()
				e.Process = Process(n)
			}
		case fieldF:
			e.F, ok = d.optionalString()
		case fieldKey:
			key, ok = d.value(0)
		case fieldValue:
			e.Value, ok = d.value(0)
			e.HasValue = true
		case fieldTime:
			e.Time, ok = d.optionalCount(NoTime)
		case fieldIndex:
			e.Index, ok = d.optionalCount(-1)
		case fieldNode:
			e.Node, ok = d.optionalString()
		case fieldError:
			if c := d.peek(); c == '"' || c == 'n' {
				e.Error, ok = d.optionalString()
			} else {
				var v any
				v, ok = d.value(0)
				e.Error = Canonical(v)
			}
		}
		if !ok {
			return Event{}, false
		}
		d.space()
		if d.byte('}') {
			break
		}
		if !d.byte(',') {
			return Event{}, false
		}
	}
	d.space()
	if d.i != len(d.b) || seen&(1<<fieldType) == 0 || seen&(1<<fieldProcess) == 0 {
		return Event{}, false
	}
	if e.Process != Nemesis {
		if e.F == "" {
			return Event{}, false // f missing or empty: an error
		}
		e.Key = key // the nemesis acts on no key
	}
	return e, true
}

func (d *fastDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// byte consumes c if it comes next.
func (d *fastDecoder) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// space skips JSON whitespace.
func (d *fastDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// literal consumes word if it comes next.
func (d *fastDecoder) literal(word string) bool {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return true
	}
	return false
}

func (d *fastDecoder) eventType(t *Type) bool {
	s, ok := d.plainString()
	if !ok {
		return false
	}
	switch string(s) {
	case "invoke":
		*t = Invoke
	case "ok":
		*t = OK
	case "fail":
		*t = Fail
	case "info":
		*t = Info
	default:
		return false
	}
	return true
}

// count decodes a non-negative integer of at most 18 digits, which always
// fits an int64.
func (d *fastDecoder) count() (int64, bool) {
	start := d.i
	var n int64
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	return n, true
}

// optionalCount decodes null, giving def, or a count.
func (d *fastDecoder) optionalCount(def int64) (int64, bool) {
	if d.literal("null") {
		return def, true
	}
	return d.count()
}

// optionalString decodes null, giving "", or a string, interned.
func (d *fastDecoder) optionalString() (string, bool) {
	if d.literal("null") {
		return "", true
	}
	raw, escaped, ok := d.stringToken()
	if !ok {
		return "", false
	}
	if escaped {
		return unescape(raw), true
	}
	if s, ok := d.strs[string(raw)]; ok {
		return s, true
	}
	s := string(raw)
	if d.strs != nil && len(d.strs) < maxInterned && len(s) <= maxInternLen {
		d.strs[s] = s
	}
	return s, true
}

// plainString returns the contents of a string without escapes.
func (d *fastDecoder) plainString() ([]byte, bool) {
	raw, escaped, ok := d.stringToken()
	return raw, ok && !escaped
}

// stringToken consumes a JSON string and returns its raw contents, quotes
// excluded, and whether it holds escapes. It fails on a control character
// or invalid UTF-8, which encoding/json rejects or replaces.
func (d *fastDecoder) stringToken() (raw []byte, escaped, ok bool) {
	if !d.byte('"') {
		return nil, false, false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			raw = d.b[start:d.i]
			d.i++
			return raw, escaped, ascii || utf8.Valid(raw)
		case c == '\\':
			if !d.escape() {
				return nil, false, false
			}
			escaped = true
		case c < 0x20:
			return nil, false, false
		default:
			ascii = ascii && c < utf8.RuneSelf
			d.i++
		}
	}
	return nil, false, false
}

// escape consumes one valid escape sequence.
func (d *fastDecoder) escape() bool {
	if d.i+1 >= len(d.b) {
		return false
	}
	switch d.b[d.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.i += 2
		return true
	case 'u':
		if jsonHex4(d.b[d.i:]) < 0 {
			return false
		}
		d.i += 6
		return true
	}
	return false
}

// jsonHex4 decodes the \uXXXX escape at the start of s, or returns -1.
func jsonHex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unescape decodes the contents of a string whose escapes stringToken
// checked, as encoding/json does: a \u escape of a lone or mismatched
// surrogate becomes U+FFFD.
func unescape(raw []byte) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := jsonHex4(raw[i:])
			i += 6
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, jsonHex4(raw[i:])); dec != unicode.ReplacementChar {
					r = dec
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return string(b)
}

// value decodes any JSON value into its normalised form.
func (d *fastDecoder) value(depth int) (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		raw, escaped, ok := d.stringToken()
		if !ok {
			return nil, false
		}
		if escaped {
			return unescape(raw), true
		}
		if v, ok := d.vals[string(raw)]; ok {
			return v, true
		}
		var v any = string(raw)
		if d.vals != nil && len(d.vals) < maxInterned && len(raw) <= maxInternLen {
			d.vals[string(raw)] = v
		}
		return v, true
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == '[' && depth < maxFastDepth:
		return d.array(depth)
	case c == '{' && depth < maxFastDepth:
		return d.object(depth)
	case d.literal("null"):
		return nil, true
	case d.literal("true"):
		return true, true
	case d.literal("false"):
		return false, true
	}
	return nil, false
}

// number decodes a JSON number exactly, as ParseNumber does: int64, float64
// or Number.
func (d *fastDecoder) number() (any, bool) {
	start := d.i
	d.byte('-')
	if !d.digits() {
		return nil, false
	}
	intDigits := d.b[start:d.i]
	if intDigits[0] == '-' {
		intDigits = intDigits[1:]
	}
	if len(intDigits) > 1 && intDigits[0] == '0' {
		return nil, false // a leading zero
	}
	integer := true
	if d.byte('.') {
		if !d.digits() {
			return nil, false
		}
		integer = false
	}
	if d.byte('e') || d.byte('E') {
		if !d.byte('+') {
			d.byte('-')
		}
		if !d.digits() {
			return nil, false
		}
		integer = false
	}
	text := d.b[start:d.i]
	if integer && len(intDigits) <= 18 {
		var n int64
		for _, c := range intDigits {
			n = n*10 + int64(c-'0')
		}
		if text[0] == '-' {
			n = -n
		}
		return d.boxInt(n), true
	}
	v, err := ParseNumber(string(text))
	return v, err == nil
}

// boxInt returns n boxed, sharing the box of an earlier equal value while
// the cache holds it.
func (d *fastDecoder) boxInt(n int64) any {
	if d.ints == nil || uint64(n) < 256 {
		return n
	}
	slot := &d.ints[uint64(n)%intCacheSize]
	if c, ok := (*slot).(int64); ok && c == n {
		return *slot
	}
	*slot = n
	return *slot
}

// digits consumes one or more decimal digits.
func (d *fastDecoder) digits() bool {
	start := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

func (d *fastDecoder) array(depth int) (any, bool) {
	start := d.i
	base, ok := d.elements(depth)
	if !ok {
		return nil, false
	}
	if n := len(d.stack) - base; d.arrays != nil && n > 0 && n <= maxCachedArray && plainScalars(d.stack[base:]) {
		h := uint32(2166136261) // FNV-1a of the array's text
		for _, c := range d.b[start:d.i] {
			h = (h ^ uint32(c)) * 16777619
		}
		slot := &d.arrays[h%arrayCacheSize]
		if l, ok := (*slot).([]any); ok && len(l) == n && scalarPrefix(d.stack[base:], l) {
			clear(d.stack[base:])
			d.stack = d.stack[:base]
			return *slot, true
		}
		*slot = d.pop(base)
		return *slot, true
	}
	return d.pop(base), true
}

// plainScalars reports whether every element of a is an int64, a string
// or nil: values whose equal copies no reader tells apart.
func plainScalars(a []any) bool {
	for _, x := range a {
		switch x.(type) {
		case int64, string, nil:
		default:
			return false
		}
	}
	return true
}

// elements decodes an array's elements onto the stack, from base.
func (d *fastDecoder) elements(depth int) (base int, ok bool) {
	d.i++ // '['
	base = len(d.stack)
	d.space()
	if d.byte(']') {
		return base, true
	}
	for {
		d.space()
		var v any
		if len(d.stack)-base == 2 && d.peek() == '[' && d.reads != nil && depth+1 < maxFastDepth && d.stack[base] == "r" {
			v, ok = d.readList(d.stack[base+1], depth+1)
		} else {
			v, ok = d.value(depth + 1)
		}
		if !ok {
			d.stack = d.stack[:base]
			return base, false
		}
		d.stack = append(d.stack, v)
		d.space()
		if d.byte(']') {
			return base, true
		}
		if !d.byte(',') {
			d.stack = d.stack[:base]
			return base, false
		}
	}
}

// pop returns the elements from base as a new list and takes them off
// the stack.
func (d *fastDecoder) pop(base int) []any {
	a := make([]any, len(d.stack)-base)
	copy(a, d.stack[base:])
	clear(d.stack[base:])
	d.stack = d.stack[:base]
	return a
}

// sharedRead is the longest list read of one key so far.
type sharedRead struct {
	// list is that read; its spare capacity holds nothing any decoded
	// value sees (every list handed out has no spare capacity), so a
	// longer read that extends it is appended in place.
	list []any
	// text is the list as the file wrote it, when every element is an
	// int64 and the text holds only digits, minus signs, commas and the
	// brackets: a later read whose text is a prefix of it, up to a comma,
	// is a prefix of list, without decoding.
	text []byte
	// boxed[n] is list[:n:n], boxed, once made.
	boxed []any
}

// prefix returns the first n elements of the longest read, boxed.
func (r *sharedRead) prefix(n int) any {
	if n >= len(r.boxed) {
		r.boxed = append(r.boxed, make([]any, n+1-len(r.boxed))...)
	}
	if r.boxed[n] == nil {
		r.boxed[n] = r.list[:n:n]
	}
	return r.boxed[n]
}

// readList decodes the list a micro-op ["r", key, [...]] read, sharing
// the storage of the longest earlier read of key when it is a prefix of
// that one, or extends it.
func (d *fastDecoder) readList(key any, depth int) (any, bool) {
	switch key.(type) {
	case int64, string:
	default:
		return d.array(depth)
	}
	start := d.i
	prev := d.reads[key]
	if prev != nil && prev.text != nil {
		t, b := prev.text, d.b[d.i:]
		commas, j := 0, 0
		for j < len(t) && j < len(b) && t[j] == b[j] {
			if t[j] == ',' {
				commas++
			}
			j++
		}
		switch {
		case j == len(t):
			d.i += j
			return prev.prefix(len(prev.list)), true
		case j > 1 && j < len(b) && t[j] == ',' && b[j] == ']':
			d.i += j + 1
			return prev.prefix(commas + 1), true
		}
	}
	base, ok := d.elements(depth)
	if !ok {
		return nil, false
	}
	elems := d.stack[base:]
	n := len(elems)
	if n == 0 {
		d.stack = d.stack[:base]
		return make([]any, 0), true
	}
	if prev == nil && len(d.reads) < maxSharedReads {
		prev = &sharedRead{list: make([]any, 0, max(2*n, 32))} // 32: Elle's appends per key
		d.reads[key] = prev
	}
	if prev == nil {
		return d.pop(base), true
	}
	switch {
	case n <= len(prev.list) && scalarPrefix(elems, prev.list):
	case scalarPrefix(prev.list, elems) && plainScalars(elems[len(prev.list):]):
		prev.list = append(prev.list, elems[len(prev.list):]...)
		prev.text = intListText(prev.list, d.b[start:d.i])
	default:
		return d.pop(base), true
	}
	clear(elems)
	d.stack = d.stack[:base]
	return prev.prefix(n), true
}

// intListText returns a copy of text, the text of list, if every element
// of list is an int64 and text holds nothing but digits, minus signs,
// commas and brackets; else nil.
func intListText(list []any, text []byte) []byte {
	for _, x := range list {
		if _, ok := x.(int64); !ok {
			return nil
		}
	}
	for _, c := range text {
		if !('0' <= c && c <= '9' || c == '-' || c == ',' || c == '[' || c == ']') {
			return nil
		}
	}
	return append([]byte(nil), text...)
}

// scalarPrefix reports whether a is a prefix of b, every element of a an
// int64, a string or nil.
func scalarPrefix(a, b []any) bool {
	if len(a) > len(b) {
		return false
	}
	for i, x := range a {
		switch x.(type) {
		case int64, string, nil:
		default:
			return false
		}
		if x != b[i] {
			return false
		}
	}
	return true
}

func (d *fastDecoder) object(depth int) (any, bool) {
	d.i++ // '{'
	m := map[string]any{}
	d.space()
	if d.byte('}') {
		return m, true
	}
	for {
		d.space()
		raw, escaped, ok := d.stringToken()
		if !ok {
			return nil, false
		}
		k := string(raw)
		if escaped {
			k = unescape(raw)
		}
		d.space()
		if !d.byte(':') {
			return nil, false
		}
		d.space()
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k] = v // the last of duplicate keys wins, as in encoding/json
		d.space()
		if d.byte('}') {
			return m, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

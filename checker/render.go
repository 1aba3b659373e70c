package checker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"consist/history"
)

// Escape makes a string from a history safe to print on a terminal: it
// writes control characters (ESC, CR, LF, tab, DEL, the C1 controls),
// Unicode's bidirectional formatting characters (such as U+202E, which
// reverses the text after it) and line or paragraph separators as Go
// escapes (\x1b, \n, \u202e), and invalid UTF-8 bytes as \xff. Every
// other character, backslashes included, is kept as it is, so escaping
// twice changes nothing. All text rendering of reports uses it.
func Escape(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true
	}
	return unicode.Is(unicode.Cc, r)
}

// KeyName names a key in a sentence: "key x", "key 1", `key "a b"` (a
// string key is quoted when it would not read unambiguously), and "the
// register" for the single default object.
func KeyName(key any) string {
	switch k := key.(type) {
	case nil:
		return "the register"
	case string:
		if k != "" && !strings.ContainsAny(k, " =\"',;:()[]{}") && !strings.ContainsFunc(k, unsafeRune) {
			return "key " + k
		}
	case int64:
		return "key " + strconv.FormatInt(k, 10)
	}
	return "key " + history.Describe(key)
}

// Explanation renders the anomaly's sentence as text for a terminal,
// every string from the history escaped.
func (a Anomaly) Explanation() string { return a.Render(Escape) }

// Render renders the anomaly's sentence, passing every piece of text
// through esc: Escape for a terminal, an HTML escaper for a page. A
// sentence starts with a capital letter.
func (a Anomaly) Render(esc func(string) string) string {
	var b strings.Builder
	for _, p := range a.Sentence {
		switch {
		case p.IsVal:
			b.WriteString(esc(history.Describe(p.Val)))
		case p.Step > 0 && p.Step <= len(a.Steps):
			b.WriteString(renderStep(&a.Steps[p.Step-1], p.Form, esc))
		default:
			b.WriteString(esc(p.Text))
		}
	}
	s := b.String()
	if r, n := utf8.DecodeRuneInString(s); unicode.IsLower(r) {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	return s
}

// Locate names where the operation is: "index 14, line 29", or "index
// 14" when the history has no lines.
func (s *Step) Locate() string {
	if s.Line > 0 {
		return fmt.Sprintf("index %d, line %d", s.Index, s.Line)
	}
	return fmt.Sprintf("index %d", s.Index)
}

// renderStep names step s in the given form.
func renderStep(s *Step, f Form, esc func(string) string) string {
	who := "process " + esc(s.Process.String())
	switch f {
	case FormWho:
		return who
	case FormAt:
		return s.Locate()
	case FormOnNode:
		if s.Node == "" {
			return ""
		}
		return " on node " + esc(s.Node)
	}
	var of, to string
	if s.Key != nil {
		of = " of " + esc(KeyName(s.Key))
		to = " to " + esc(KeyName(s.Key))
	}
	fn := esc(s.F)
	var what string
	switch s.F {
	case "read", "get":
		what = fmt.Sprintf("%s's %s%s", who, fn, of)
		if s.Type == "ok" && s.hasOutOrValue() {
			what += " returning " + esc(history.Describe(s.Value))
		}
	case "write", "put", "append", "add":
		what = fmt.Sprintf("%s's %s of %s%s", who, fn, esc(history.Describe(s.written())), to)
	case "cas":
		if pair, ok := s.written().([]any); ok && len(pair) == 2 {
			what = fmt.Sprintf("%s's cas%s from %s to %s", who, of, esc(history.Describe(pair[0])), esc(history.Describe(pair[1])))
		} else {
			what = fmt.Sprintf("%s's cas%s", who, of)
		}
	case "txn":
		what = fmt.Sprintf("%s's transaction %s", who, esc(history.Describe(s.Value)))
	default:
		what = fmt.Sprintf("%s's %s%s", who, fn, of)
	}
	var outcome string
	switch s.Type {
	case "info":
		outcome = "crashed"
	case "fail":
		outcome = "failed"
	}
	if outcome != "" && s.Error != "" {
		outcome += ": " + esc(s.Error)
	}
	if outcome != "" {
		what += " (" + outcome + ")"
	}
	if s.Node != "" {
		what += " on node " + esc(s.Node)
	}
	return what + " (" + s.Locate() + ")"
}

// written is the step's argument: its invocation's value where the step
// was built from an operation, else its Value.
func (s *Step) written() any {
	if s.in != nil {
		return s.in
	}
	return s.Value
}

func (s *Step) hasOutOrValue() bool { return s.hasOut || s.in == nil }

// anomalyJSON is an Anomaly as JSON: its data and its sentence rendered
// as text.
type anomalyJSON struct {
	Kind        Kind    `json:"kind"`
	Key         any     `json:"key,omitempty"`
	Ops         []int64 `json:"ops"`
	Steps       []Step  `json:"steps,omitempty"`
	Explanation string  `json:"explanation"`
	// Not and AlsoNot are what the kind rules out (Boundary): Elle's
	// :not and :also-not.
	Not     []Model `json:"not,omitempty"`
	AlsoNot []Model `json:"also_not,omitempty"`
}

// MarshalJSON writes the anomaly's data, its rendered explanation and
// the models its kind rules out.
func (a Anomaly) MarshalJSON() ([]byte, error) {
	not, also := Boundary(a.Kind)
	return json.Marshal(anomalyJSON{Kind: a.Kind, Key: a.Key, Ops: a.Ops, Steps: a.Steps, Explanation: a.Explanation(), Not: not, AlsoNot: also})
}

// UnmarshalJSON reads what MarshalJSON wrote; the sentence comes back as
// its rendered text.
func (a *Anomaly) UnmarshalJSON(b []byte) error {
	var j anomalyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*a = Anomaly{Kind: j.Kind, Key: j.Key, Ops: j.Ops, Steps: j.Steps}
	if j.Explanation != "" {
		a.Sentence = Phrase{{Text: j.Explanation}}
	}
	return nil
}

package checker

import (
	"encoding/json"
	"strings"
	"testing"

	"consist/history"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain n1", "plain n1"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"\u2066isolate\u2069", `\u2066isolate\u2069`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"del\x7f", `del\x7f`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"ünïcödé ✓ 名前", "ünïcödé ✓ 名前"},
		{`back\slash`, `back\slash`},
	} {
		got := Escape(tc.in)
		if got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := Escape(got); again != got {
			t.Errorf("escaping %q twice gives %q", tc.in, again)
		}
	}
}

func TestKeyName(t *testing.T) {
	for _, tc := range []struct {
		key  any
		want string
	}{
		{nil, "the register"}, {int64(1), "key 1"}, {"x", "key x"}, {"a b", `key "a b"`}, {"", `key ""`},
	} {
		if got := KeyName(tc.key); got != tc.want {
			t.Errorf("KeyName(%#v) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// hostile is a history whose every string tries to take over a terminal.
func hostile(t *testing.T) (*history.History, *history.Op) {
	t.Helper()
	evil := "\x1b[31m\r\nFORGED\u202e"
	h, err := history.New("h.jsonl", []history.Event{
		{Index: 0, Type: history.Invoke, Process: 3, F: "write" + evil, Key: "k" + evil, Value: "v" + evil, HasValue: true, Time: history.NoTime, Line: 1},
		{Index: 1, Type: history.Info, Process: 3, F: "write" + evil, Key: "k" + evil, Value: "v" + evil, HasValue: true, Time: history.NoTime, Line: 2,
			Node: "n1" + evil, Error: "timeout" + evil},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, &h.Ops[0]
}

// A sentence names operations by index and line, from its steps, and
// every string from the history is escaped.
func TestRenderEscapesAndLocates(t *testing.T) {
	h, op := hostile(t)
	w := NewWitness(h)
	w.Link(op, ProcessOrder)
	a := w.Anomaly(StaleRead, op.Key, Say("%s; %s wrote %s on %s%s (%s)", w.Op(op), w.Who(op), Val(op.Input), KeyName(op.Key), w.OnNode(op), w.At(op)))
	text := a.Explanation()
	for _, bad := range []string{"\x1b", "\r", "\n", "\u202e"} {
		if strings.Contains(text, bad) {
			t.Errorf("explanation holds %q: %q", bad, text)
		}
	}
	for _, want := range []string{"Process 3's write", `\x1b[31m\r\nFORGED\u202e`, "(crashed: timeout", "(index 1, line 2)", "on node n1"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q: %s", want, text)
		}
	}
	if len(a.Steps) != 1 || a.Steps[0].Index != 1 || a.Steps[0].Line != 2 || a.Steps[0].Rel != ProcessOrder || a.Steps[0].Error == "" {
		t.Errorf("steps %+v", a.Steps)
	}
	// JSON carries the data and the same sentence.
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Anomaly
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Explanation() != text || back.Kind != StaleRead || len(back.Steps) != 1 || back.Steps[0].Line != 2 {
		t.Errorf("JSON round trip: %s", b)
	}
	// Another renderer gets the same data with its own escaping.
	html := a.Render(func(s string) string { return strings.ReplaceAll(s, "\x1b", "&#27;") })
	if !strings.Contains(html, "&#27;[31m") || strings.Contains(html, "\x1b") {
		t.Errorf("render with another escaper: %q", html)
	}
}

func TestSay(t *testing.T) {
	p := Say("%s read %d%% of %v: %s", Part{Text: "process 1"}, 50, "x", Say("%s", Val([]any{int64(1)})))
	a := Anomaly{Sentence: p}
	if got := a.Explanation(); got != "Process 1 read 50% of x: [1]" {
		t.Errorf("got %q", got)
	}
	if got := (Anomaly{Sentence: Join([]Phrase{Say("a"), Say("b"), Say("c")}, "; ")}).Explanation(); got != "A; b; c" {
		t.Errorf("Join: %q", got)
	}
}

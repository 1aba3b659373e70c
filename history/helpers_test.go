package history

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// checkRoundTrip writes events as JSON Lines, reads them back and reports
// the first difference. The events must come back the same: every field is
// compared, values and keys with Equal, except
//   - Line, which afterwards is the event's line in the JSON Lines text
//     (its position + 1), not its line in the original file;
//   - non-finite floats (NaN, ±Inf), which JSON cannot hold: the writer
//     turns them into strings, so values holding one are compared by their
//     Canonical form instead.
//
// Index survives because the writer always writes it.
func checkRoundTrip(events []Event) error {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, events); err != nil {
		return fmt.Errorf("WriteJSONL: %w", err)
	}
	h, err := Parse(buf.Bytes(), "roundtrip.jsonl", JSONL)
	if err != nil {
		return fmt.Errorf("reading back the JSON Lines: %w\n%s", err, clipText(buf.String()))
	}
	if len(h.Events) != len(events) {
		return fmt.Errorf("%d events came back, want %d", len(h.Events), len(events))
	}
	for i := range events {
		if err := sameEvent(&events[i], &h.Events[i]); err != nil {
			return fmt.Errorf("event %d (line %d): %w", i, events[i].Line, err)
		}
		if int(h.Events[i].Line) != i+1 {
			return fmt.Errorf("event %d is on JSON Lines line %d, want %d", i, h.Events[i].Line, i+1)
		}
	}
	return nil
}

func clipText(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

// sameEvent compares every field but Line.
func sameEvent(a, b *Event) error {
	switch {
	case a.Index != b.Index:
		return fmt.Errorf("index %d became %d", a.Index, b.Index)
	case a.Type != b.Type:
		return fmt.Errorf("type %v became %v", a.Type, b.Type)
	case a.Process != b.Process:
		return fmt.Errorf("process %v became %v", a.Process, b.Process)
	case a.F != b.F:
		return fmt.Errorf("f %q became %q", a.F, b.F)
	case !sameValue(a.Key, b.Key):
		return fmt.Errorf("key %s became %s", Canonical(a.Key), Canonical(b.Key))
	case a.HasValue != b.HasValue:
		return fmt.Errorf("HasValue %v became %v", a.HasValue, b.HasValue)
	case !sameValue(a.Value, b.Value):
		return fmt.Errorf("value %s became %s", Describe(a.Value), Describe(b.Value))
	case a.Time != b.Time:
		return fmt.Errorf("time %d became %d", a.Time, b.Time)
	case a.Node != b.Node:
		return fmt.Errorf("node %q became %q", a.Node, b.Node)
	case a.Error != b.Error:
		return fmt.Errorf("error %q became %q", a.Error, b.Error)
	}
	return nil
}

func sameValue(a, b any) bool {
	if Equal(a, b) {
		return true
	}
	return hasNonFinite(a) && Canonical(a) == Canonical(b)
}

func hasNonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}

// checkParseResult is the property every reader must have on any input:
// either an *Error with a line >= 0 and a message, or a history whose
// events survive a JSON Lines round trip.
func checkParseResult(h *History, err error) error {
	if err != nil {
		var he *Error
		if !errors.As(err, &he) {
			return fmt.Errorf("error %v (%T) is not a *history.Error", err, err)
		}
		if he.Line < 0 || he.Msg == "" {
			return fmt.Errorf("error %#v has a negative line or no message", he)
		}
		return nil
	}
	if h == nil {
		return errors.New("no history and no error")
	}
	return checkRoundTrip(h.Events)
}

// wantError asserts err is an *Error on line with a message containing
// msg.
func wantError(t *testing.T, err error, line int, msg string) {
	t.Helper()
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("got error %v (%T), want a *history.Error", err, err)
	}
	if he.Line != line {
		t.Errorf("error on line %d, want line %d: %v", he.Line, line, err)
	}
	if !strings.Contains(he.Msg, msg) {
		t.Errorf("error message %q does not mention %q", he.Msg, msg)
	}
}

// assertEvents fails the test unless got holds exactly want, lines included.
func assertEvents(t *testing.T, got, want []Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range want {
		if err := sameEvent(&got[i], &want[i]); err != nil {
			t.Errorf("event %d: %v", i, err)
		}
		if got[i].Line != want[i].Line {
			t.Errorf("event %d on line %d, want %d", i, got[i].Line, want[i].Line)
		}
	}
}

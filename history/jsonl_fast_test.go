package history

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestJSONLFastPathTakesWrittenLines checks that the fast decoder, not
// encoding/json, decodes every line consist's own writer produces, and
// decodes it as encoding/json does.
func TestJSONLFastPathTakesWrittenLines(t *testing.T) {
	events := append(genHistory(3000, 2), genRegisterHistory(3000, 2)...)
	events = append(events,
		Event{Type: Info, Process: Nemesis, F: "kill", Value: map[string]any{"n1": "dead", "n2": []any{1.5, true, nil}}, HasValue: true},
		Event{Type: Info, Process: Nemesis},
		Event{Type: Fail, Process: 4, F: "cas", Key: int64(-3), Value: []any{"<a&b>", "\u2028\x01\"é😀"}, HasValue: true, Node: "n\t1", Error: "timed out\n"},
	)
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, events); err != nil {
		t.Fatal(err)
	}
	fast := newFastDecoder()
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		got, ok := fast.event([]byte(line))
		if !ok {
			t.Fatalf("line %d: the fast path declined %s", i+1, line)
		}
		want, err := decodeEventJSON([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("line %d: %s\nfast %#v\njson %#v", i+1, line, got, want)
		}
	}
}

// TestJSONLParallelReportsFirstBadLine checks that reading on several
// goroutines numbers lines and events as one goroutine does and reports
// the first bad line, whichever chunk it falls in.
func TestJSONLParallelReportsFirstBadLine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, genRegisterHistory(1000, 3)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	for i := 0; i < len(lines); i += 7 {
		lines[i] = strings.Replace(lines[i], `,"index":`+strconv.Itoa(i), "", 1) // some events without an index
	}
	lines[100] = "  " // a blank line
	good := strings.Join(lines, "\n")
	want, err := parseJSONLWith([]byte(good), "h.jsonl", 1, false)
	if err != nil {
		t.Fatal(err)
	}
	for workers := 1; workers <= 8; workers++ {
		got, err := parseJSONLWith([]byte(good), "h.jsonl", workers, true)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%d goroutines: %v, events differ from one goroutine's", workers, err)
		}
	}
	lines[700] = `{"type":"invoke","process":0,"f":"read","time":-1}`
	late := []byte(strings.Join(lines, "\n"))
	lines[300] = `{"type":"invoke","process":0}`
	early := []byte(strings.Join(lines, "\n"))
	for workers := 1; workers <= 8; workers++ {
		_, err := parseJSONLWith(late, "h.jsonl", workers, true)
		wantError(t, err, 701, `field "time": must not be negative`)
		_, err = parseJSONLWith(early, "h.jsonl", workers, true)
		wantError(t, err, 301, `missing field "f"`)
	}
}

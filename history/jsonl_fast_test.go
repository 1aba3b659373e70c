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

// TestJSONLFastSharesReads checks that the fast decoder, which shares the
// storage of a key's reads that are prefixes of an earlier read and of
// short arrays it saw before, decodes every line as encoding/json does,
// and that a shared list cannot be appended to in place.
func TestJSONLFastSharesReads(t *testing.T) {
	lines := []string{
		`{"type":"ok","process":0,"f":"txn","value":[["r",1,[1,2,3]],["r","k",["a","b,c"]],["append",1,4]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r",1,[1,2]],["r","k",["a"]],["r",1,[1,2,3]],["r",1,[1]],["r",1,[]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r",1,[1,2,3,4]],["r",1,[1,2,3]],["r",1,[1,2,3,4,5]],["r",1,[1,2,4]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r",1,[1,2,3,4,5]],["r",1,[1,2,3,45]],["r",1,[1, 2]],["r",1,[1,-2]],["r",1,[1.0,2]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r",2,[-1,20,300]],["r",2,[-1,20]],["r",2,[-1,2]],["r",2,[-1,20,300,null]],["r",2,[-1,20,300]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append",1,4],["append",1,4],["r",1,null],["r",1,null],["w",1,"x"],["w",1,"x"],["w",1,1.5],["w",1,1.5]]}`,
	}
	fast := newFastDecoder()
	for i, line := range lines {
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
		for _, m := range got.Value.([]any) {
			if l, ok := m.([]any)[2].([]any); ok && cap(l) != len(l) {
				t.Errorf("line %d: a read of %d elements has room for %d: appending to it would write into shared storage", i+1, len(l), cap(l))
			}
		}
	}
	a, _ := fast.event([]byte(lines[0]))
	b, _ := fast.event([]byte(lines[1]))
	x, y := a.Value.([]any)[0].([]any)[2].([]any), b.Value.([]any)[0].([]any)[2].([]any)
	if &x[0] != &y[0] {
		t.Errorf("the read [1 2] does not share the storage of the earlier read [1 2 3]")
	}
}

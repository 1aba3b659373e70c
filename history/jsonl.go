package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"sync"
)

const jsonlFields = "type, process, f, key, value, time, index, node, error"

// parseJSONL reads consist's native format: one JSON object per line, blank
// lines ignored. A big input is decoded on every core, in chunks of whole
// lines; the result, and the error (the first bad line's), are the same as
// on one core.
func parseJSONL(data []byte, name string) ([]Event, error) {
	return parseJSONLWith(data, name, min(runtime.GOMAXPROCS(0), len(data)/minJSONLChunk), true)
}

// minJSONLChunk is the least input worth a goroutine of its own.
const minJSONLChunk = 4 << 20

// parseJSONLWith is parseJSONL on workers goroutines (at least one), with
// the fast decoder or, without it, decoding every line with
// decodeEventJSON (the reference, for tests and benchmarks).
func parseJSONLWith(data []byte, name string, workers int, fast bool) ([]Event, error) {
	// Every line gets a slot, so that each chunk of lines knows where its
	// events go; blank lines' slots stay zero and are dropped at the end.
	events := make([]Event, bytes.Count(data, []byte{'\n'})+1)
	workers = max(1, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w, firstLine := 0, 1; w < workers; w++ {
		chunk := data
		if w < workers-1 {
			end := bytes.IndexByte(data[len(data)/(workers-w):], '\n')
			if end < 0 {
				end = len(data)
			} else {
				end += len(data)/(workers-w) + 1
			}
			chunk, data = data[:end], data[end:]
		}
		slots, first := events[firstLine-1:], firstLine
		wg.Go(func() { errs[w] = decodeJSONLines(chunk, name, first, fast, slots) })
		firstLine += bytes.Count(chunk, []byte{'\n'})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	n := 0
	for i := range events {
		if events[i].Line == 0 {
			continue // a blank line
		}
		if events[i].Index < 0 {
			events[i].Index = int64(n)
		}
		if n < i {
			events[n] = events[i]
		}
		n++
	}
	return events[:n:n], nil
}

// decodeJSONLines decodes the lines of data, the first numbered first,
// each into its slot of events; a blank line leaves its slot zero, a line
// without an index leaves Index -1. It stops at the first bad line.
func decodeJSONLines(data []byte, name string, first int, fast bool, events []Event) error {
	var fd *fastDecoder
	if fast {
		fd = newFastDecoder()
	}
	for lineNo := first; len(data) > 0; lineNo++ {
		var line []byte
		line, data = nextLine(data)
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		e := &events[lineNo-first]
		ok := false
		if fd != nil {
			*e, ok = fd.event(line)
		}
		if !ok {
			var err error
			if *e, err = decodeEventJSON(line); err != nil {
				return &Error{File: name, Line: lineNo, Msg: err.Error(), Fix: "each line must be one JSON object with the fields " + jsonlFields}
			}
		}
		e.Line = int32(lineNo)
	}
	return nil
}

// decodeEventJSON decodes one JSON Lines event with encoding/json: the
// reference that fastDecoder must match, and the source of every error
// message. It sets Index to -1 when the line carries none. A field that is
// null counts as absent, except type, process and f, which must be given.
func decodeEventJSON(line []byte) (Event, error) {
	raw, err := decodeObject(line)
	if err != nil {
		return Event{}, err
	}
	if err := checkFields(raw); err != nil {
		return Event{}, err
	}
	e := Event{Index: -1, Time: NoTime}
	if e.Type, err = decodeType(raw["type"]); err != nil {
		return Event{}, fmt.Errorf(`field "type": %w`, err)
	}
	if e.Process, err = decodeProcess(raw["process"]); err != nil {
		return Event{}, fmt.Errorf(`field "process": %w`, err)
	}
	if e.F, err = decodeString(raw["f"]); err != nil {
		return Event{}, fmt.Errorf(`field "f": %w`, err)
	}
	if v, ok := raw["value"]; ok {
		e.Value, e.HasValue = Normalize(v), true
	}
	if e.Process == Nemesis {
		return e, decodeOptional(raw, &e) // nemesis events may have any f, even none, and act on no key
	}
	if _, ok := raw["f"]; !ok {
		return Event{}, errors.New(`missing field "f"`)
	}
	if e.F == "" {
		return Event{}, errors.New(`field "f" is empty`)
	}
	e.Key = Normalize(raw["key"])
	return e, decodeOptional(raw, &e)
}

// decodeObject decodes a line that must hold exactly one JSON object,
// numbers kept as json.Number.
func decodeObject(line []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("invalid JSON at column %d: %w", syn.Offset, err)
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if rest := bytes.TrimSpace(line[d.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("invalid JSON at column %d: more text after the object", len(line)-len(rest)+1)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid JSON: the line holds %s, not an object", Describe(Normalize(v)))
	}
	return raw, nil
}

// checkFields rejects unknown fields, naming the first in sorted order, and
// requires type and process.
func checkFields(raw map[string]any) error {
	var unknown []string
	for field := range raw {
		switch field {
		case "type", "process", "f", "key", "value", "time", "index", "node", "error":
		default:
			unknown = append(unknown, field)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown field %q", unknown[0])
	}
	for _, required := range []string{"type", "process"} {
		if _, ok := raw[required]; !ok {
			return fmt.Errorf("missing field %q", required)
		}
	}
	return nil
}

// decodeOptional decodes time, index, node and error.
func decodeOptional(raw map[string]any, e *Event) error {
	var err error
	if e.Time, err = decodeCount(raw["time"], NoTime); err != nil {
		return fmt.Errorf(`field "time": %w`, err)
	}
	if e.Index, err = decodeCount(raw["index"], -1); err != nil {
		return fmt.Errorf(`field "index": %w`, err)
	}
	if e.Node, err = decodeString(raw["node"]); err != nil {
		return fmt.Errorf(`field "node": %w`, err)
	}
	e.Error = decodeError(raw["error"])
	return nil
}

func decodeType(v any) (Type, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("%s is not a string", Describe(Normalize(v)))
	}
	t, ok := ParseType(s)
	if !ok {
		return 0, fmt.Errorf("%q is not invoke, ok, fail or info", s)
	}
	return t, nil
}

func decodeProcess(v any) (Process, error) {
	switch v := v.(type) {
	case string:
		if v == "nemesis" {
			return Nemesis, nil
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 {
			return Process(n), nil
		}
	}
	return 0, fmt.Errorf("%s is neither a non-negative integer nor \"nemesis\"", Describe(Normalize(v)))
}

// decodeString decodes an optional string field; null or absent is "".
func decodeString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("%s is not a string", Describe(Normalize(v)))
}

// decodeCount decodes an optional non-negative integer field; null or
// absent gives def.
func decodeCount(v any, def int64) (int64, error) {
	switch v := v.(type) {
	case nil:
		return def, nil
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is beyond int64's range", v)
		}
		if err != nil {
			return 0, fmt.Errorf("%s is not an integer", v)
		}
		if n < 0 {
			return 0, errors.New("must not be negative")
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s is not an integer", Describe(Normalize(v)))
}

// decodeError accepts any JSON as an error, keeping strings as they are and
// other values as their JSON text; null is no error.
func decodeError(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	return Canonical(Normalize(v))
}

// MarshalJSON writes the event in the native format, fields in a fixed
// order, optional fields only when set.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(nil), nil
}

func (e *Event) appendJSON(b []byte) []byte {
	return appendJSONTail(e.appendJSONHead(b), e.Time, e.Index)
}

// appendJSONHead appends the event's line up to its time and index, which
// come last so that a recorder can encode the rest before it numbers the
// event.
func (e *Event) appendJSONHead(b []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, e.Type.String()...)
	b = append(b, `","process":`...)
	if e.Process == Nemesis {
		b = append(b, `"nemesis"`...)
	} else {
		b = strconv.AppendInt(b, int64(e.Process), 10)
	}
	b = append(b, `,"f":`...)
	b = appendJSONString(b, e.F)
	if e.Key != nil {
		b = append(b, `,"key":`...)
		b = appendJSON(b, e.Key)
	}
	if e.HasValue {
		b = append(b, `,"value":`...)
		b = appendJSON(b, e.Value)
	}
	if e.Node != "" {
		b = append(b, `,"node":`...)
		b = appendJSONString(b, e.Node)
	}
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, e.Error)
	}
	return b
}

// appendJSONTail ends an event's line begun by appendJSONHead.
func appendJSONTail(b []byte, time, index int64) []byte {
	if time != NoTime {
		b = append(b, `,"time":`...)
		b = strconv.AppendInt(b, time, 10)
	}
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, index, 10)
	return append(b, '}')
}

// WriteJSONL writes events in the native JSON Lines format, one per line.
func WriteJSONL(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	var b []byte
	for i := range events {
		b = append(events[i].appendJSON(b[:0]), '\n')
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("write history: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

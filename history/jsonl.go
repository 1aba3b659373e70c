package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const jsonlFields = "type, process, f, key, value, time, index, node, error"

// parseJSONL reads consist's native format: one JSON object per line, blank
// lines ignored.
func parseJSONL(data []byte, name string) ([]Event, error) {
	var events []Event
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		e, err := decodeEvent(line)
		if err != nil {
			return nil, &Error{File: name, Line: lineNo, Msg: err.Error(), Fix: "each line must be one JSON object with the fields " + jsonlFields}
		}
		e.Line = lineNo
		if e.Index < 0 {
			e.Index = int64(len(events))
		}
		events = append(events, e)
	}
	return events, nil
}

// decodeEvent decodes one JSON Lines event. It sets Index to -1 when the line
// carries none.
func decodeEvent(line []byte) (Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Event{}, fmt.Errorf("invalid JSON at column %d: %v", syn.Offset, err)
		}
		return Event{}, fmt.Errorf("invalid JSON: %v", err)
	}
	e := Event{Index: -1, Time: NoTime}
	for field, msg := range raw {
		var err error
		switch field {
		case "type":
			var s string
			if err = json.Unmarshal(msg, &s); err == nil {
				var ok bool
				if e.Type, ok = ParseType(s); !ok {
					err = fmt.Errorf("%q is not invoke, ok, fail or info", s)
				}
			}
		case "process":
			e.Process, err = decodeProcess(msg)
		case "f":
			err = json.Unmarshal(msg, &e.F)
		case "key":
			var k any
			if k, err = decodeValue(msg); err == nil {
				e.Key = k
			}
		case "value":
			e.Value, err = decodeValue(msg)
			e.HasValue = true
		case "time":
			err = json.Unmarshal(msg, &e.Time)
			if err == nil && e.Time < 0 {
				err = errors.New("must not be negative")
			}
		case "index":
			err = json.Unmarshal(msg, &e.Index)
			if err == nil && e.Index < 0 {
				err = errors.New("must not be negative")
			}
		case "node":
			err = json.Unmarshal(msg, &e.Node)
		case "error":
			err = decodeError(msg, &e.Error)
		default:
			return Event{}, fmt.Errorf("unknown field %q", field)
		}
		if err != nil {
			return Event{}, fmt.Errorf("field %q: %v", field, err)
		}
	}
	for _, required := range []string{"type", "process", "f"} {
		if _, ok := raw[required]; !ok {
			return Event{}, fmt.Errorf("missing field %q", required)
		}
	}
	if e.F == "" {
		return Event{}, errors.New(`field "f" is empty`)
	}
	if e.Process == Nemesis {
		e.Key = nil // nemesis events act on no object
	}
	return e, nil
}

func decodeProcess(msg json.RawMessage) (Process, error) {
	var s string
	if json.Unmarshal(msg, &s) == nil {
		if s == "nemesis" {
			return Nemesis, nil
		}
		return 0, fmt.Errorf("%q is neither an integer nor \"nemesis\"", s)
	}
	var n int64
	if err := json.Unmarshal(msg, &n); err != nil || n < 0 {
		return 0, fmt.Errorf("%s is neither a non-negative integer nor \"nemesis\"", msg)
	}
	return Process(n), nil
}

// decodeError accepts any JSON as an error, keeping strings as they are and
// other values as their JSON text.
func decodeError(msg json.RawMessage, dst *string) error {
	if json.Unmarshal(msg, dst) == nil {
		return nil
	}
	v, err := decodeValue(msg)
	if err != nil {
		return err
	}
	*dst = Canonical(v)
	return nil
}

func decodeValue(msg json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return Normalize(v), nil
}

// MarshalJSON writes the event in the native format, fields in a fixed
// order, optional fields only when set.
func (e Event) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	e.appendJSON(&b)
	return []byte(b.String()), nil
}

func (e *Event) appendJSON(b *strings.Builder) {
	b.WriteString(`{"type":"`)
	b.WriteString(e.Type.String())
	b.WriteString(`","process":`)
	if e.Process == Nemesis {
		b.WriteString(`"nemesis"`)
	} else {
		b.WriteString(strconv.FormatInt(int64(e.Process), 10))
	}
	b.WriteString(`,"f":`)
	writeJSON(b, e.F)
	if e.Key != nil {
		b.WriteString(`,"key":`)
		writeJSON(b, e.Key)
	}
	if e.HasValue {
		b.WriteString(`,"value":`)
		writeJSON(b, e.Value)
	}
	if e.Time != NoTime {
		b.WriteString(`,"time":`)
		b.WriteString(strconv.FormatInt(e.Time, 10))
	}
	b.WriteString(`,"index":`)
	b.WriteString(strconv.FormatInt(e.Index, 10))
	if e.Node != "" {
		b.WriteString(`,"node":`)
		writeJSON(b, e.Node)
	}
	if e.Error != "" {
		b.WriteString(`,"error":`)
		writeJSON(b, e.Error)
	}
	b.WriteByte('}')
}

// WriteJSONL writes events in the native JSON Lines format, one per line.
func WriteJSONL(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	var b strings.Builder
	for i := range events {
		b.Reset()
		events[i].appendJSON(&b)
		b.WriteByte('\n')
		if _, err := bw.WriteString(b.String()); err != nil {
			return fmt.Errorf("write history: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

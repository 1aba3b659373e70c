package history

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
)

// Builder builds a History in memory, event by event, for a Go program that
// records its own system's operations: a test calls Invoke when a client
// starts an operation and OK, Fail or Info when it ends, then History.
//
//	var b history.Builder
//	b.Invoke(0, "write", "x", 1)
//	b.Invoke(1, "read", "x", nil)
//	b.OK(0, "write", "x", 1)
//	b.OK(1, "read", "x", 1)
//	h, err := b.History()
//
// Events are taken in the order they are added, which is their real-time
// order. The builder numbers them: an event's Index is its position (the
// one before's plus one), unless Add is given an event with an Index of its
// own. Keys and values are converted with NormalizeGo, so an int written
// and an int64 read compare equal, and a value consist cannot represent is
// refused with an error rather than recorded wrongly.
//
// The first error sticks: later calls do nothing, and History and Err
// return it, naming the event. The zero Builder is ready to use; it is not
// safe for concurrent use (record from goroutines with a Recorder made by
// NewMemoryRecorder).
//
// Operations whose call and return times are known, as Porcupine's
// Operation holds them, are added with Operation instead; a builder holds
// one kind or the other.
type Builder struct {
	// Source names the history in messages; "builder" when empty.
	Source string

	events []Event
	timed  []timedEvent
	err    error
}

// timedEvent is an event of an Operation, ordered by its time when the
// history is built.
type timedEvent struct {
	Event
	at  int64
	seq int // the order of addition, which breaks ties
}

// Invoke adds the invocation of an operation: process starts f on key
// (nil for the single default object) with value (a write's value, a
// cas's [expected, new] pair, nil for a read).
func (b *Builder) Invoke(process int, f string, key, value any) *Builder {
	return b.Add(Event{Type: Invoke, Process: Process(process), F: f, Key: key, Value: value, HasValue: true})
}

// OK adds the completion of process's open operation: it took effect, and
// value is its result (what a read returned; nil for a read of a key never
// written).
func (b *Builder) OK(process int, f string, key, value any) *Builder {
	return b.Add(Event{Type: OK, Process: Process(process), F: f, Key: key, Value: value, HasValue: true})
}

// Fail adds the completion of process's open operation that certainly did
// not take effect.
func (b *Builder) Fail(process int, f string, key, value any) *Builder {
	return b.Add(Event{Type: Fail, Process: Process(process), F: f, Key: key, Value: value, HasValue: value != nil})
}

// Info adds the completion of process's open operation whose outcome is
// unknown (a timeout, a lost connection): it may take effect at any later
// time, or never. The process is then crashed and must not invoke again;
// use a new process number for the client's next operation.
func (b *Builder) Info(process int, f string, key, value any) *Builder {
	return b.Add(Event{Type: Info, Process: Process(process), F: f, Key: key, Value: value, HasValue: value != nil})
}

// Add adds an event as given, after converting its Key and Value with
// NormalizeGo. A zero Time means the event has no time (NoTime); a zero
// Index means the next number (the previous event's Index plus one, 0 for
// the first), and an Index given must be greater than the previous one. A
// non-nil Value sets HasValue.
func (b *Builder) Add(e Event) *Builder {
	if b.err != nil {
		return b
	}
	if len(b.timed) > 0 {
		b.err = b.errorf(len(b.events), &e, "Add after Operation", "a builder holds either events in order or timed operations; use one builder for each")
		return b
	}
	if err := b.normalize(len(b.events), &e); err != nil {
		b.err = err
		return b
	}
	if e.Time == 0 {
		e.Time = NoTime
	}
	if n := len(b.events); e.Index == 0 && n > 0 {
		e.Index = b.events[n-1].Index + 1
	} else if n > 0 && e.Index <= b.events[n-1].Index {
		b.err = b.errorf(n, &e, fmt.Sprintf("index %d does not follow the previous event's index %d", e.Index, b.events[n-1].Index),
			"leave Index zero to have the builder number events, or give increasing indices")
		return b
	}
	e.Line = 0
	b.events = append(b.events, e)
	return b
}

// Operation is one whole operation with its call and return times, as
// Porcupine's Operation holds it.
type Operation struct {
	// Process is the client that performed the operation (Porcupine's
	// ClientId).
	Process int
	// F is the function: read, write, cas, or a function of the caller's
	// own data type.
	F string
	// Key is the object; nil for the single default object.
	Key any
	// Input is the invocation's value, Output the completion's.
	Input, Output any
	// Type is the outcome: OK, Fail or Info. The zero value, Invoke,
	// stands for OK.
	Type Type
	// Call and Return are when the operation began and ended, in
	// nanoseconds from any origin (time.Now().UnixNano() will do); zero
	// is a time like any other here. Return is ignored for an Info
	// operation, which never returned.
	Call, Return int64
}

// Operation adds a whole operation. When the history is built, the
// operations' calls and returns are put in order of time (a call before a
// return at the same time, so that operations that touch overlap, as
// Porcupine orders them), and each event's Time is its time less the
// earliest call's.
func (b *Builder) Operation(o Operation) *Builder {
	if b.err != nil {
		return b
	}
	typ := o.Type
	if typ == Invoke {
		typ = OK
	}
	call := Event{Type: Invoke, Process: Process(o.Process), F: o.F, Key: o.Key, Value: o.Input, HasValue: true}
	ret := Event{Type: typ, Process: Process(o.Process), F: o.F, Key: o.Key, Value: o.Output, HasValue: typ == OK || o.Output != nil}
	n := len(b.timed) / 2
	if len(b.events) > 0 {
		b.err = b.errorf(n, &call, "Operation after Add", "a builder holds either events in order or timed operations; use one builder for each")
		return b
	}
	if typ != Info && o.Return < o.Call {
		b.err = b.errorf(n, &call, fmt.Sprintf("returns at %d, before its call at %d", o.Return, o.Call), "give Return a time at or after Call")
		return b
	}
	for _, e := range []*Event{&call, &ret} {
		if err := b.normalize(n, e); err != nil {
			b.err = err
			return b
		}
	}
	b.timed = append(b.timed, timedEvent{call, o.Call, 2 * n})
	if typ == Info {
		// Never returned: the completion goes after everything else.
		b.timed = append(b.timed, timedEvent{ret, math.MaxInt64, 2*n + 1})
	} else {
		b.timed = append(b.timed, timedEvent{ret, o.Return, 2*n + 1})
	}
	return b
}

// Err returns the first error the builder met, or nil.
func (b *Builder) Err() error { return b.err }

// Len returns the number of events added so far (two per Operation).
func (b *Builder) Len() int { return len(b.events) + len(b.timed) }

// History pairs and validates the events added and returns the history. Its
// errors are the first error an Add met, or a *Error from New naming the
// event (its Line is the event's position counting from 1).
func (b *Builder) History() (*History, error) {
	if b.err != nil {
		return nil, b.err
	}
	var events []Event
	if len(b.timed) > 0 {
		timed := slices.Clone(b.timed)
		slices.SortStableFunc(timed, func(x, y timedEvent) int {
			switch {
			case x.at != y.at:
				return cmpInt64(x.at, y.at)
			case (x.Type == Invoke) != (y.Type == Invoke):
				if x.Type == Invoke {
					return -1
				}
				return 1
			}
			return x.seq - y.seq
		})
		origin := timed[0].at
		events = make([]Event, len(timed))
		for i, t := range timed {
			events[i] = t.Event
			events[i].Index = int64(i)
			events[i].Time = NoTime
			if t.at != math.MaxInt64 {
				events[i].Time = t.at - origin
			}
		}
	} else {
		events = slices.Clone(b.events)
	}
	return inMemory(b.source(), events)
}

// inMemory pairs events built in memory into a history. Errors name the
// event by its position, since it has no line.
func inMemory(source string, events []Event) (*History, error) {
	for i := range events {
		events[i].Line = int32(min(i+1, math.MaxInt32))
	}
	h, err := New(source, events)
	if err != nil {
		var he *Error
		if errors.As(err, &he) && he.Line > 0 {
			he.Msg = fmt.Sprintf("event %d: %s", he.Line-1, he.Msg)
			he.Line = 0
		}
		return nil, err
	}
	for i := range h.Events {
		h.Events[i].Line = 0 // built in memory: no source line
	}
	return h, nil
}

func (b *Builder) source() string {
	if b.Source == "" {
		return "builder"
	}
	return b.Source
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// normalize converts the key and value of event n in place.
func (b *Builder) normalize(n int, e *Event) error {
	key, err := NormalizeGo(e.Key)
	if err != nil {
		return b.errorf(n, e, fmt.Sprintf("key: %v", err), "use a string or an integer key, or nil for the single default object")
	}
	switch key.(type) {
	case nil, string, int64:
	default:
		return b.errorf(n, e, fmt.Sprintf("key %s is neither a string nor an integer", Describe(key)),
			"use a string or an integer key, or nil for the single default object")
	}
	e.Key = key
	v, err := NormalizeGo(e.Value)
	if err != nil {
		return b.errorf(n, e, fmt.Sprintf("value: %v", err), "convert the value to a number, string, bool, slice, map or struct of those first")
	}
	e.Value = v
	if v != nil {
		e.HasValue = true
	}
	return nil
}

func (b *Builder) errorf(n int, e *Event, msg, fix string) error {
	return &Error{File: b.source(), Msg: fmt.Sprintf("event %d (%s %s of process %v): %s", n, e.Type, e.F, e.Process, msg), Fix: fix}
}

// NormalizeGo converts a Go value to the history's value model (see the
// package documentation: nil, bool, int64, float64, string, []any and
// map[string]any), so that values from a Go program compare as the same
// values read from a history file:
//
//   - every signed and unsigned integer type becomes int64, as does a
//     *big.Int; an integer beyond int64 becomes a Number, exact;
//   - float32 and float64 become float64 (NaN and the infinities too);
//   - a string stays a string, and a []byte becomes the string of its
//     bytes (as a store returns a value), not base64 as encoding/json
//     would write it;
//   - other slices, and arrays (of bytes too), become []any, element by
//     element;
//   - a map becomes map[string]any when its keys are strings or integers
//     (integer keys in decimal, as encoding/json writes them);
//   - a pointer or interface becomes what it points to, nil when nil;
//   - json.Number becomes int64, float64 or Number, as Normalize does:
//     exactly;
//   - everything else — structs, and types that marshal themselves with
//     MarshalJSON or MarshalText — becomes what encoding/json writes for
//     it, read back: a struct a map of its exported fields by their JSON
//     names, a time.Time its RFC 3339 string.
//
// Channels, functions and complex numbers have no JSON form and are
// refused, as are maps with other key types. The argument is not changed.
func NormalizeGo(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case bool, int64, string, float64:
		return v, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case []byte:
		return string(v), nil
	case json.Number:
		return normalizeNumber(v)
	case *big.Int:
		if v == nil {
			return nil, nil
		}
		if v.IsInt64() {
			return v.Int64(), nil
		}
		return normalizeNumber(json.Number(v.String()))
	case json.Marshaler, encoding.TextMarshaler:
		return viaJSON(v)
	}
	return normalizeValue(reflect.ValueOf(v), 0)
}

// maxDepth bounds the nesting NormalizeGo follows, so that a cyclic value
// is refused rather than followed forever.
const maxDepth = 1000

func normalizeValue(rv reflect.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep (a cycle?)", maxDepth)
	}
	if !rv.IsValid() {
		return nil, nil
	}
	if rv.CanInterface() {
		switch x := rv.Interface().(type) {
		case json.Number, *big.Int, json.Marshaler, encoding.TextMarshaler, []byte:
			return NormalizeGo(x)
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return normalizeNumber(json.Number(strconv.FormatUint(u, 10)))
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalizeValue(rv.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return string(b), nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			x, err := normalizeValue(rv.Index(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = x
		}
		return out, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k, err := goMapKey(iter.Key())
			if err != nil {
				return nil, err
			}
			x, err := normalizeValue(iter.Value(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("map entry %q: %w", k, err)
			}
			out[k] = x
		}
		return out, nil
	case reflect.Struct:
		if !rv.CanInterface() {
			return nil, fmt.Errorf("%s is an unexported field's struct; export it or convert the value", rv.Type())
		}
		return viaJSON(rv.Interface())
	}
	return nil, fmt.Errorf("a %s cannot be represented in a history", rv.Type())
}

// goMapKey renders a map key as encoding/json does: strings as they are,
// integers in decimal.
func goMapKey(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		return string(b), err
	}
	return "", fmt.Errorf("a map with %s keys cannot be represented in a history: keys must be strings or integers", k.Type())
}

// viaJSON converts v by encoding/json and back.
func viaJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%T cannot be represented in a history: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%T: reading back its JSON: %w", v, err)
	}
	return exactNumbers(out)
}

// exactNumbers converts the json.Number values of a decoded JSON value to
// the value model, exactly.
func exactNumbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return normalizeNumber(v)
	case []any:
		for i := range v {
			x, err := exactNumbers(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
	case map[string]any:
		for k := range v {
			x, err := exactNumbers(v[k])
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
	}
	return v, nil
}

// normalizeNumber converts a JSON number to the value model, refusing an
// integer the model would round.
func normalizeNumber(n json.Number) (any, error) {
	return ParseNumber(string(n))
}

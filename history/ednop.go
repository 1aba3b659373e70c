package history

import (
	"fmt"
)

// The fields of an op map that become an Event; other keys (Jepsen adds
// :debug, :exception and more) are read and dropped.
const (
	fieldType = iota
	fieldProcess
	fieldF
	fieldValue
	fieldKey
	fieldTime
	fieldIndex
	fieldNode
	fieldError
	numFields
)

var opFieldNames = [numFields]string{"type", "process", "f", "value", "key", "time", "index", "node", "error"}

// opField is one field of an op map as read.
type opField struct {
	v    any
	line int
	set  bool
}

func opFieldIndex(name string) int {
	for i, n := range opFieldNames {
		if n == name {
			return i
		}
	}
	return -1
}

// readOp reads an op map, perhaps behind a record tag, into an Event; pos
// is its position among the history's events.
func (p *ednParser) readOp(pos int) (Event, error) {
	if p.data[p.pos] == '#' { // a record tag, checked by atOpMap
		p.pos++
		p.token()
		p.skipSpace()
	}
	start := p.line
	p.pos++
	var fields [numFields]opField
	for {
		if err := p.skip(); err != nil {
			return Event{}, err
		}
		if err := p.checkOpen('}', "op map", start); err != nil {
			return Event{}, err
		}
		if p.data[p.pos] == '}' {
			p.pos++
			break
		}
		keyLine := p.line
		k, kind, v, err := p.readEntry(start)
		if err != nil {
			return Event{}, err
		}
		name, ok := k.(string)
		if !ok || kind == ednOther {
			continue
		}
		if i := opFieldIndex(name); i >= 0 {
			if fields[i].set {
				return Event{}, p.errorf(keyLine, "remove one of the two entries", "the op map opened on line %d has :%s twice", start, name)
			}
			fields[i] = opField{v: v, line: keyLine, set: true}
		}
	}
	return p.opEvent(&fields, start, pos)
}

// opEvent turns the fields of the op map that starts on line start into an
// Event.
func (p *ednParser) opEvent(fields *[numFields]opField, start, pos int) (Event, error) {
	e := Event{Index: int64(pos), Time: NoTime, Line: int32(start)}
	var err error
	if e.Type, err = p.opType(fields, start); err != nil {
		return Event{}, err
	}
	if e.Process, err = p.opProcess(fields); err != nil {
		return Event{}, err
	}
	if f := fields[fieldValue]; f.set {
		e.Value, e.HasValue = f.v, true
	}
	if e.F, err = p.opF(fields, e.Process, e.Value); err != nil {
		return Event{}, err
	}
	if e.Key, err = p.opKey(fields, e.Process); err != nil {
		return Event{}, err
	}
	if t, ok, err := p.opCount(fields, fieldTime); err != nil {
		return Event{}, err
	} else if ok {
		e.Time = t
	}
	if i, ok, err := p.opCount(fields, fieldIndex); err != nil {
		return Event{}, err
	} else if ok {
		e.Index = i
	}
	e.Node = textOf(fields[fieldNode].v)
	e.Error = textOf(fields[fieldError].v)
	return e, nil
}

func (p *ednParser) opType(fields *[numFields]opField, start int) (Type, error) {
	f := fields[fieldType]
	if !f.set {
		return 0, p.errorf(start, fixOp, "the op map has no :type")
	}
	if s, ok := f.v.(string); ok {
		if t, ok := ParseType(s); ok {
			return t, nil
		}
	}
	return 0, p.errorf(f.line, fixOp, "op :type %s is not :invoke, :ok, :fail or :info", Describe(f.v))
}

// opProcess returns the op's process: an integer, :nemesis, or, in Elle's
// loose form, looseProcess until resolveLoose numbers it.
func (p *ednParser) opProcess(fields *[numFields]opField) (Process, error) {
	f := fields[fieldProcess]
	if !f.set {
		p.loose = true
		return looseProcess, nil
	}
	switch v := f.v.(type) {
	case int64:
		if v >= 0 {
			return Process(v), nil
		}
	case string:
		if v == "nemesis" {
			return Nemesis, nil
		}
	}
	return 0, p.errorf(f.line, fixOp, "op :process %s is neither a non-negative integer nor :nemesis", Describe(f.v))
}

// opF returns the op's function. A client op's is a keyword or a string;
// a nemesis op may have any :f, or none. A client op without :f is a txn
// when its :value is a vector of vectors (Elle's loose form); otherwise
// its :f is left "" for resolveLoose to take from its invocation.
func (p *ednParser) opF(fields *[numFields]opField, proc Process, value any) (string, error) {
	f := fields[fieldF]
	if proc == Nemesis {
		return textOf(f.v), nil
	}
	if !f.set {
		if isMicroOps(value) {
			return "txn", nil
		}
		p.missingF = true
		return "", nil
	}
	if s, ok := f.v.(string); ok && s != "" {
		return s, nil
	}
	return "", p.errorf(f.line, fixOp, "op :f %s is not a keyword or a non-empty string", Describe(f.v))
}

// isMicroOps reports whether v has the shape of a transaction's value: a
// vector (or list) whose elements are all vectors.
func isMicroOps(v any) bool {
	l, ok := v.([]any)
	if !ok {
		return false
	}
	for _, m := range l {
		if _, ok := m.([]any); !ok {
			return false
		}
	}
	return true
}

// opKey returns the op's key: a string (from a keyword or string) or an
// integer. Nemesis ops act on no key.
func (p *ednParser) opKey(fields *[numFields]opField, proc Process) (any, error) {
	f := fields[fieldKey]
	if proc == Nemesis {
		return nil, nil
	}
	switch f.v.(type) {
	case nil, string, int64:
		return f.v, nil
	}
	return nil, p.errorf(f.line, "use a string, keyword or integer key, or leave :key out for the single default object",
		"op :key %s is neither a string nor an integer", Describe(f.v))
}

// opCount returns a :time or :index field, which must be a non-negative
// integer when present and not nil.
func (p *ednParser) opCount(fields *[numFields]opField, i int) (int64, bool, error) {
	f := fields[i]
	switch v := f.v.(type) {
	case nil:
		return 0, false, nil
	case int64:
		if v >= 0 {
			return v, true, nil
		}
	}
	return 0, false, p.errorf(f.line, fmt.Sprintf("write :%s as a non-negative integer, or leave it out", opFieldNames[i]),
		"op :%s %s is not a non-negative integer", opFieldNames[i], Describe(f.v))
}

// textOf renders an :error, :node or nemesis :f as text: a keyword or
// string as itself, nil as "", anything else as its Canonical form.
func textOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	return Canonical(v)
}

// liftIndependent recognises histories written by jepsen.independent, which
// runs one workload per key and writes every client op's value as a tuple
// [k v]. The rule: every client event (invocations and completions; the
// nemesis's are ignored) has no :key and a value that is a 2-element vector
// whose first element is a string or an integer. A plain cas register also
// fits that shape, its values being [expected new], so when every client op
// is a cas the history counts as independent only when every v is itself a
// pair. An independent history gets Key = k and Value = v on every client
// event. A plain register whose values are themselves pairs cannot be told
// apart; write it as JSON Lines with explicit keys.
func liftIndependent(events []Event) {
	if !isIndependent(events) {
		return
	}
	for i := range events {
		if e := &events[i]; e.IsClient() {
			t := e.Value.([]any)
			e.Key, e.Value = t[0], t[1]
		}
	}
}

func isIndependent(events []Event) bool {
	clients, allCAS, innerPairs := 0, true, true
	for i := range events {
		e := &events[i]
		if !e.IsClient() {
			continue
		}
		clients++
		t, ok := e.Value.([]any)
		if e.Key != nil || !e.HasValue || !ok || len(t) != 2 {
			return false
		}
		switch t[0].(type) {
		case string, int64:
		default:
			return false
		}
		allCAS = allCAS && e.F == "cas"
		innerPairs = innerPairs && isPair(t[1])
	}
	return clients > 0 && (!allCAS || innerPairs)
}

// knossosMicroOps renames the micro-ops of Knossos's multi-register
// transactions, [:read :x nil] and [:write :y 2], to the r and w that
// Jepsen and Elle write and consist checks.
func knossosMicroOps(events []Event) {
	for i := range events {
		e := &events[i]
		if !e.IsClient() || e.F != "txn" {
			continue
		}
		mops, _ := e.Value.([]any)
		for _, m := range mops {
			mop, ok := m.([]any)
			if !ok || len(mop) != 3 {
				continue
			}
			switch mop[0] {
			case "read":
				mop[0] = "r"
			case "write":
				mop[0] = "w"
			}
		}
	}
}

// looseProcess marks, while reading, a client op map that has no :process.
const looseProcess Process = -2

const fixLoose = "give every client op map a :process, or leave it out of all of them and write each invocation directly followed by its completion (Elle's loose form)"

// resolveLoose completes the op maps of Elle's loose form, as in Elle's
// histories/paper-example.edn, which may leave out :process and :f.
//
// Without :process: when no client op map of the history has one, the ops
// are one client's, in file order, as Jepsen pairs them (a missing
// :process is nil, one value, so they pair invocation to completion in
// order) and as elle-cli's JSON copy of paper-example.edn writes them (all
// process 1). Each invocation must be directly followed by its completion.
// They become process 0; after an :info completion, whose operation may
// still take effect, the next invocation starts process 1, and so on, as
// Jepsen gives a crashed worker a fresh process. A history in which some
// client op maps have :process and others do not is refused.
//
// Without :f: an op map whose :value is a vector of vectors is a txn (see
// opF); a completion repeats its invocation's :f; any other op map without
// :f is refused.
func (p *ednParser) resolveLoose(events []Event) error {
	if p.loose {
		if err := p.resolveLooseProcesses(events); err != nil {
			return err
		}
	}
	if p.missingF {
		return p.resolveMissingF(events)
	}
	return nil
}

func (p *ednParser) resolveLooseProcesses(events []Event) error {
	firstLoose, firstProcess := -1, -1
	for i := range events {
		switch e := &events[i]; {
		case !e.IsClient():
		case e.Process == looseProcess:
			if firstLoose < 0 {
				firstLoose = i
			}
		case firstProcess < 0:
			firstProcess = i
		}
	}
	if firstProcess >= 0 {
		e, with := &events[firstLoose], &events[firstProcess]
		return p.errorf(int(e.Line), fixLoose, "the op map has no :process, but the op map on line %d has :process %v", with.Line, with.Process)
	}
	proc, open := Process(0), -1
	for i := range events {
		e := &events[i]
		if !e.IsClient() {
			continue
		}
		if e.Type == Invoke {
			if open >= 0 {
				return p.errorf(int(e.Line), fixLoose, "this invocation has no :process, and the invocation on line %d has no completion before it", events[open].Line)
			}
			open = i
		} else {
			if open < 0 {
				return p.errorf(int(e.Line), fixLoose, "this %s completion has no :process and no invocation before it to complete", e.Type)
			}
			open = -1
		}
		e.Process = proc
		if e.Type == Info {
			proc++
		}
	}
	return nil
}

func (p *ednParser) resolveMissingF(events []Event) error {
	open := make(map[Process]int)
	for i := range events {
		e := &events[i]
		if !e.IsClient() {
			continue
		}
		if e.F == "" {
			inv, ok := open[e.Process]
			if e.Type == Invoke || !ok {
				return p.errorf(int(e.Line), fixOp+"; a completion may leave :f out to repeat its invocation's, and an op map whose :value is a vector of micro-ops is a txn", "the op map has no :f")
			}
			e.F = events[inv].F
		}
		if e.Type == Invoke {
			open[e.Process] = i
		} else {
			delete(open, e.Process)
		}
	}
	return nil
}

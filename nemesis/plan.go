package nemesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"consist/history"
)

// Plan is an explicit list of faults: when each starts, how long it lasts,
// and exactly what it breaks. A nemesis given a plan (Schedule.Plan)
// injects these faults and draws nothing at random, so a plan replays the
// faults of a recorded run (ReadPlan) and can be cut down fault by fault,
// as consist shrink does.
type Plan struct {
	// Faults are in the order they start; each ends before the next
	// starts.
	Faults []Fault
}

// Fault is one fault of a plan, with everything needed to inject it
// again. Which fields apply depends on Kind.
type Fault struct {
	Kind Kind
	// At is when the fault starts, from the start of the main phase
	// (when the nemesis began to run), on the run's clock.
	At time.Duration
	// For is how long it lasts: it is healed at At+For, or when the main
	// phase ends, whichever comes first.
	For time.Duration

	// Style names the partition's shape (halves, isolate,
	// majorities-ring); Cut lists the links it cuts, both ways.
	Style string
	Cut   [][2]string
	// Nodes are the nodes a kill or pause hits.
	Nodes []string
	// Skews are the clock offsets of a clock fault, by node.
	Skews map[string]time.Duration
	// Extra is a latency fault's added delay.
	Extra time.Duration
	// Rate is a loss fault's probability of losing a message.
	Rate float64
}

// Len is the number of faults the plan holds (0 for a nil plan).
func (p *Plan) Len() int {
	if p == nil {
		return 0
	}
	return len(p.Faults)
}

// Kinds lists the kinds of the plan's faults, each once, in the order
// they first appear.
func (p *Plan) Kinds() []Kind {
	var out []Kind
	if p == nil {
		return nil
	}
	for _, f := range p.Faults {
		if !slices.Contains(out, f.Kind) {
			out = append(out, f.Kind)
		}
	}
	return out
}

// Clone returns a deep copy of p.
func (p *Plan) Clone() *Plan {
	if p == nil {
		return nil
	}
	out := &Plan{Faults: make([]Fault, len(p.Faults))}
	for i, f := range p.Faults {
		f.Cut = slices.Clone(f.Cut)
		f.Nodes = slices.Clone(f.Nodes)
		f.Skews = maps.Clone(f.Skews)
		out.Faults[i] = f
	}
	return out
}

// String describes the plan in one line, e.g. "partition at 1s for 1s,
// kill at 3s for 1s".
func (p *Plan) String() string {
	if p.Len() == 0 {
		return "no faults"
	}
	parts := make([]string, len(p.Faults))
	for i, f := range p.Faults {
		parts[i] = fmt.Sprintf("%s %s at %v for %v", f.Kind, history.Describe(f.Value()), f.At, f.For)
	}
	return strings.Join(parts, ", ")
}

// Check says what is wrong with the plan on its own, if anything: a
// fault of no known kind, without its particulars, starting before
// the previous one ended, or lasting no time.
func (p *Plan) Check() error {
	var end time.Duration
	for i, f := range p.Faults {
		n := i + 1
		if err := f.check(); err != nil {
			return fmt.Errorf("fault %d (%s): %w", n, f.Kind, err)
		}
		if f.At < end {
			return fmt.Errorf("fault %d (%s) starts at %v, before fault %d ends at %v: faults run one at a time, in order; start it at %v or later", n, f.Kind, f.At, n-1, end, end)
		}
		end = f.At + f.For
	}
	return nil
}

func (f Fault) check() error {
	switch {
	case f.At < 0:
		return fmt.Errorf("starts at %v: give a time from the start of the run, 0 or more", f.At)
	case f.For <= 0:
		return fmt.Errorf("lasts %v: give how long it lasts, more than 0", f.For)
	}
	switch f.Kind {
	case Partition:
		if f.Style == "" {
			return errors.New("no style: give halves, isolate or majorities-ring")
		}
		for _, c := range f.Cut {
			if c[0] == "" || c[1] == "" || c[0] == c[1] {
				return fmt.Errorf("cut %q: give two different nodes", c)
			}
		}
	case Kill, Pause:
		if len(f.Nodes) == 0 {
			return errors.New("no nodes: name the nodes it hits")
		}
	case Clock:
		if len(f.Skews) == 0 {
			return errors.New("no skew: give each node's clock offset, e.g. {\"n1\": \"1.5s\"}")
		}
	case Latency:
		if f.Extra <= 0 {
			return fmt.Errorf("extra delay %v: give more than 0, e.g. 50ms", f.Extra)
		}
	case Loss:
		if math.IsNaN(f.Rate) || f.Rate <= 0 || f.Rate > 1 {
			return fmt.Errorf("rate %v: give a probability above 0, at most 1", f.Rate)
		}
	default:
		return fmt.Errorf("unknown kind: use one of %s", joinKinds(Kinds()))
	}
	return nil
}

// nodes lists the nodes the fault names.
func (f Fault) nodes() []string {
	out := slices.Clone(f.Nodes)
	for _, c := range f.Cut {
		out = append(out, c[0], c[1])
	}
	for _, n := range slices.Sorted(maps.Keys(f.Skews)) {
		out = append(out, n)
	}
	return out
}

// The history values of faults: the value of a nemesis's start and stop
// events says what the fault hit. Value writes it and parseValue reads it
// back; nothing else knows its shape.

// Value is what the history records of the fault: the links cut and the
// partition's style, the nodes killed or paused, each node's skew, the
// extra delay, the loss rate.
func (f Fault) Value() any {
	switch f.Kind {
	case Partition:
		cut := make([]any, len(f.Cut))
		for i, c := range f.Cut {
			cut[i] = []any{c[0], c[1]}
		}
		return map[string]any{"style": f.Style, "cut": cut}
	case Kill, Pause:
		nodes := make([]any, len(f.Nodes))
		for i, n := range f.Nodes {
			nodes[i] = n
		}
		return nodes
	case Clock:
		value := map[string]any{}
		for n, d := range f.Skews {
			value[n] = d.String()
		}
		return value
	case Latency:
		return f.Extra.String()
	case Loss:
		return f.Rate
	}
	return nil
}

// parseValue reads the particulars of a fault of kind from its history
// value, as Value wrote it.
func parseValue(kind Kind, v any) (Fault, error) {
	f := Fault{Kind: kind}
	bad := func(want string) (Fault, error) {
		return f, fmt.Errorf("value %s is not %s", history.Describe(v), want)
	}
	switch kind {
	case Partition:
		m, ok := v.(map[string]any)
		if !ok {
			return bad(`{"style": ..., "cut": [[node, node], ...]}`)
		}
		style, ok := m["style"].(string)
		cut, ok2 := m["cut"].([]any)
		if !ok || !ok2 {
			return bad(`{"style": ..., "cut": [[node, node], ...]}`)
		}
		for _, c := range cut {
			pair, ok := c.([]any)
			if !ok || len(pair) != 2 {
				return bad("a list of links, each two nodes")
			}
			a, ok := pair[0].(string)
			b, ok2 := pair[1].(string)
			if !ok || !ok2 {
				return bad("a list of links, each two nodes")
			}
			f.Cut = append(f.Cut, [2]string{a, b})
		}
		f.Style = style
	case Kill, Pause:
		list, ok := v.([]any)
		if !ok {
			return bad("a list of nodes")
		}
		for _, x := range list {
			n, ok := x.(string)
			if !ok {
				return bad("a list of nodes")
			}
			f.Nodes = append(f.Nodes, n)
		}
	case Clock:
		m, ok := v.(map[string]any)
		if !ok {
			return bad(`{node: offset, ...}`)
		}
		f.Skews = map[string]time.Duration{}
		for n, x := range m {
			s, ok := x.(string)
			d, err := time.ParseDuration(s)
			if !ok || err != nil {
				return bad(`{node: offset, ...}`)
			}
			f.Skews[n] = d
		}
	case Latency:
		s, ok := v.(string)
		d, err := time.ParseDuration(s)
		if !ok || err != nil {
			return bad("a duration")
		}
		f.Extra = d
	case Loss:
		switch x := v.(type) {
		case float64:
			f.Rate = x
		case int64:
			f.Rate = float64(x)
		default:
			return bad("a probability")
		}
	default:
		return f, fmt.Errorf("unknown fault %q", kind)
	}
	return f, nil
}

// ReadPlan reads the faults a recorded history's nemesis injected: each
// start event and the stop event after it make a fault, its particulars
// read from the start's value. origin is the history time (Event.Time) at
// which the main phase began (run.Result.MainStart): a fault's At counts
// from it. Replayed on the same run, the plan gives the same history.
func ReadPlan(events []history.Event, origin int64) (*Plan, error) {
	p := &Plan{}
	var open *history.Event
	for i := range events {
		e := &events[i]
		if e.Process != history.Nemesis {
			continue
		}
		switch {
		case strings.HasPrefix(e.F, "start-"):
			if open != nil {
				if e.F == open.F && e.Error != "" {
					continue // the same start, failed
				}
				return nil, fmt.Errorf("event %d: %s starts while %s (event %d) is in force: a plan runs one fault at a time", e.Index, e.F, open.F, open.Index)
			}
			open = e
		case strings.HasPrefix(e.F, "stop-"):
			if open == nil || e.F[len("stop-"):] != open.F[len("start-"):] {
				return nil, fmt.Errorf("event %d: %s without its start", e.Index, e.F)
			}
			kind := Kind(open.F[len("start-"):])
			f, err := parseValue(kind, open.Value)
			if err != nil {
				return nil, fmt.Errorf("event %d (%s): %w", open.Index, open.F, err)
			}
			if open.Time == history.NoTime || e.Time == history.NoTime {
				return nil, fmt.Errorf("event %d (%s): no time: a plan needs the times of the faults", open.Index, open.F)
			}
			f.At, f.For = time.Duration(open.Time-origin), time.Duration(e.Time-open.Time)
			p.Faults = append(p.Faults, f)
			open = nil
		}
	}
	if open != nil {
		return nil, fmt.Errorf("event %d: %s never stopped: the history was cut short; a plan needs every fault's end", open.Index, open.F)
	}
	return p, nil
}

// The JSON form of a plan, as a file holds it:
//
//	{"faults": [
//	  {"kind": "partition", "at": "1s", "for": "1s", "style": "halves", "cut": [["n1", "n3"]]},
//	  {"kind": "kill", "at": "3s", "for": "1s", "nodes": ["n2"]},
//	  {"kind": "clock", "at": "5s", "for": "1s", "skew": {"n4": "-1.2s"}},
//	  {"kind": "latency", "at": "7s", "for": "1s", "extra": "50ms"},
//	  {"kind": "loss", "at": "9s", "for": "1s", "rate": 0.3}]}
type planJSON struct {
	Faults []faultJSON `json:"faults"`
}

type faultJSON struct {
	Kind  Kind              `json:"kind"`
	At    string            `json:"at"`
	For   string            `json:"for"`
	Style string            `json:"style,omitempty"`
	Cut   [][]string        `json:"cut,omitempty"`
	Nodes []string          `json:"nodes,omitempty"`
	Skew  map[string]string `json:"skew,omitempty"`
	Extra string            `json:"extra,omitempty"`
	Rate  float64           `json:"rate,omitempty"`
}

// MarshalJSON writes the plan in its file form, times as durations
// ("1.5s").
func (p Plan) MarshalJSON() ([]byte, error) {
	out := planJSON{Faults: make([]faultJSON, len(p.Faults))}
	for i, f := range p.Faults {
		j := faultJSON{Kind: f.Kind, At: f.At.String(), For: f.For.String(), Style: f.Style, Nodes: f.Nodes, Rate: f.Rate}
		for _, c := range f.Cut {
			j.Cut = append(j.Cut, []string{c[0], c[1]})
		}
		if f.Kind == Latency {
			j.Extra = f.Extra.String()
		}
		if len(f.Skews) > 0 {
			j.Skew = map[string]string{}
			for n, d := range f.Skews {
				j.Skew[n] = d.String()
			}
		}
		out.Faults[i] = j
	}
	return json.Marshal(out)
}

// ParsePlan reads a plan in its file form and checks it (Check). name
// labels it in errors, which say what to fix.
func ParsePlan(data []byte, name string) (*Plan, error) {
	var j planJSON
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return nil, fmt.Errorf("%s is not a nemesis plan: %w (write {\"faults\": [{\"kind\": \"kill\", \"at\": \"1s\", \"for\": \"1s\", \"nodes\": [\"n1\"]}, ...]}, or give the nemesis-plan.json of a run folder)", name, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more follows the plan: give one JSON object", name)
	}
	p := &Plan{Faults: make([]Fault, len(j.Faults))}
	for i, fj := range j.Faults {
		n := i + 1
		f := Fault{Kind: fj.Kind, Style: fj.Style, Nodes: fj.Nodes, Rate: fj.Rate}
		for _, c := range fj.Cut {
			if len(c) != 2 {
				return nil, fmt.Errorf("%s: fault %d: cut %q: a link is two nodes, as [\"n1\", \"n2\"]", name, n, c)
			}
			f.Cut = append(f.Cut, [2]string{c[0], c[1]})
		}
		var err error
		if f.At, err = time.ParseDuration(fj.At); err != nil {
			return nil, fmt.Errorf("%s: fault %d: \"at\": %q is not a duration: give one such as \"1.5s\"", name, n, fj.At)
		}
		if f.For, err = time.ParseDuration(fj.For); err != nil {
			return nil, fmt.Errorf("%s: fault %d: \"for\": %q is not a duration: give one such as \"1s\"", name, n, fj.For)
		}
		if fj.Extra != "" {
			if f.Extra, err = time.ParseDuration(fj.Extra); err != nil {
				return nil, fmt.Errorf("%s: fault %d: \"extra\": %q is not a duration: give one such as \"50ms\"", name, n, fj.Extra)
			}
		}
		if len(fj.Skew) > 0 {
			f.Skews = map[string]time.Duration{}
			for node, s := range fj.Skew {
				if f.Skews[node], err = time.ParseDuration(s); err != nil {
					return nil, fmt.Errorf("%s: fault %d: skew of %s: %q is not a duration: give one such as \"-1.5s\"", name, n, node, s)
				}
			}
		}
		p.Faults[i] = f
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

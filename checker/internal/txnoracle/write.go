package txnoracle

import (
	"fmt"
	"slices"
	"strings"
)

// event is one line of a written history.
type event struct {
	pos      int
	complete bool
	t        *Txn
}

// events orders h's invocations and completions by position, an
// invocation before a completion at the same position (the oracle's real
// time is strict: T1 precedes T2 only when T1.Complete < T2.Invoke). Info
// transactions get no completion: an invocation still open at the end is
// indeterminate.
func (h History) events() []event {
	var es []event
	for i := range h {
		t := &h[i]
		es = append(es, event{pos: t.Invoke, t: t})
		if t.Outcome != Info {
			es = append(es, event{pos: t.Complete, complete: true, t: t})
		}
	}
	slices.SortStableFunc(es, func(a, b event) int {
		if a.pos != b.pos {
			return a.pos - b.pos
		}
		return cmpBool(a.complete, b.complete)
	})
	return es
}

// JSONL writes h in consist's native JSON Lines form, one event a line in
// real-time order: {"type":"invoke","process":P,"f":"txn","value":[...]}
// with micro-ops ["append",k,v], ["r",k,[...]], ["w",k,v], ["r",k,v]; reads
// are null in invocations and in failed completions, and Info transactions
// have no completion line. A read whose result is Unknown is written as
// null, which a reader takes as the initial value; Generate marks only the
// reads of Fail and Info transactions Unknown.
func (h History) JSONL() []byte {
	var b strings.Builder
	for i, e := range h.events() {
		typ := "invoke"
		if e.complete {
			typ = e.t.Outcome.String()
		}
		fmt.Fprintf(&b, `{"type":%q,"process":%d,"f":"txn","index":%d,"value":[`, typ, e.t.Process, i)
		for j, op := range e.t.Ops {
			if j > 0 {
				b.WriteString(",")
			}
			observed := e.complete && e.t.Outcome == OK && !op.Unknown
			switch {
			case op.Kind == Append:
				fmt.Fprintf(&b, `["append",%d,%d]`, op.Key, op.Value)
			case op.Kind == Write:
				fmt.Fprintf(&b, `["w",%d,%d]`, op.Key, op.Value)
			case !observed || op.Kind == ReadRegister && op.Nil:
				fmt.Fprintf(&b, `["r",%d,null]`, op.Key)
			case op.Kind == ReadRegister:
				fmt.Fprintf(&b, `["r",%d,%d]`, op.Key, op.Value)
			default:
				fmt.Fprintf(&b, `["r",%d,[%s]]`, op.Key, joinInts(op.List, ","))
			}
		}
		b.WriteString("]}\n")
	}
	return []byte(b.String())
}

// EDN writes h as a Jepsen history, one op map a line as Elle reads them:
// {:type :invoke, :f :txn, :value [[:append k v] [:r k nil]], :process P,
// :index I}, under the same rules as JSONL.
func (h History) EDN() []byte {
	var b strings.Builder
	for i, e := range h.events() {
		typ := "invoke"
		if e.complete {
			typ = e.t.Outcome.String()
		}
		fmt.Fprintf(&b, "{:type :%s, :f :txn, :value [", typ)
		for j, op := range e.t.Ops {
			if j > 0 {
				b.WriteString(" ")
			}
			observed := e.complete && e.t.Outcome == OK && !op.Unknown
			switch {
			case op.Kind == Append:
				fmt.Fprintf(&b, "[:append %d %d]", op.Key, op.Value)
			case op.Kind == Write:
				fmt.Fprintf(&b, "[:w %d %d]", op.Key, op.Value)
			case !observed || op.Kind == ReadRegister && op.Nil:
				fmt.Fprintf(&b, "[:r %d nil]", op.Key)
			case op.Kind == ReadRegister:
				fmt.Fprintf(&b, "[:r %d %d]", op.Key, op.Value)
			default:
				fmt.Fprintf(&b, "[:r %d [%s]]", op.Key, joinInts(op.List, " "))
			}
		}
		fmt.Fprintf(&b, "], :process %d, :index %d}\n", e.t.Process, i)
	}
	return []byte(b.String())
}

func joinInts(xs []int, sep string) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteString(sep)
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

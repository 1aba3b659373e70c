package linearizable

import (
	"fmt"
	"strings"

	"consist/history"
)

// interner hands out one int32 per distinct value.
type interner struct {
	ids  map[string]int32
	vals []any
}

func newInterner() *interner { return &interner{ids: make(map[string]int32)} }

func (in *interner) id(v any) int32 {
	c := history.Canonical(v)
	if id, ok := in.ids[c]; ok {
		return id
	}
	id := int32(len(in.vals))
	in.ids[c] = id
	in.vals = append(in.vals, v)
	return id
}

func (in *interner) describe(id int32) string { return history.Describe(in.vals[id]) }

// registerSpec is a read/write/compare-and-set register; Knossos'
// cas-register and Porcupine's etcd model. States are value ids.
type registerSpec struct {
	values  *interner
	initial int32
	kind    []registerOp
	a, b    []int32 // read: a = value read; write: a = value; cas: a = expected, b = new
}

type registerOp uint8

const (
	regRead registerOp = iota
	regWrite
	regCAS
)

func (r *registerSpec) init() int32 { return r.initial }

func (r *registerSpec) step(s int32, op int) (int32, bool) {
	switch r.kind[op] {
	case regRead:
		return s, s == r.a[op]
	case regWrite:
		return r.a[op], true
	default:
		return r.b[op], s == r.a[op]
	}
}

func (r *registerSpec) describe(s int32) string { return r.values.describe(s) }

func (r *registerSpec) add(op *history.Op) {
	switch op.F {
	case "read":
		r.kind = append(r.kind, regRead)
		r.a = append(r.a, r.values.id(op.Output))
		r.b = append(r.b, 0)
	case "write":
		r.kind = append(r.kind, regWrite)
		r.a = append(r.a, r.values.id(op.Input))
		r.b = append(r.b, 0)
	case "cas":
		pair := op.Input.([]any) // validated by history
		r.kind = append(r.kind, regCAS)
		r.a = append(r.a, r.values.id(pair[0]))
		r.b = append(r.b, r.values.id(pair[1]))
	}
}

// stringSpec is Porcupine's key-value model for one key: a string that put
// replaces, append extends and get returns.
type stringSpec struct {
	strs    *interner
	initial int32
	kind    []string
	arg     []int32 // get: the value returned; put, append: the argument
	appends map[[2]int32]int32
	mem     *share
}

func (k *stringSpec) init() int32 { return k.initial }

func (k *stringSpec) step(s int32, op int) (int32, bool) {
	switch k.kind[op] {
	case "get":
		return s, s == k.arg[op]
	case "put":
		return k.arg[op], true
	default: // append
		memo := [2]int32{s, int32(op)}
		if next, ok := k.appends[memo]; ok {
			return next, true
		}
		joined := k.strs.vals[s].(string) + k.strs.vals[k.arg[op]].(string)
		if !k.mem.take(int64(len(joined) + 64)) {
			// Out of memory: the share remembers the refusal, and the
			// check reports Unknown rather than this step's failure.
			return s, false
		}
		next := k.strs.id(joined)
		k.appends[memo] = next
		return next, true
	}
}

func (k *stringSpec) describe(s int32) string { return k.strs.describe(s) }

// mutexSpec is Knossos' mutex: acquire takes a free lock, release frees a
// held one. Which process holds it is not modelled, as in Knossos.
type mutexSpec struct {
	acquire []bool
}

func (m *mutexSpec) init() int32 { return 0 }

func (m *mutexSpec) step(s int32, op int) (int32, bool) {
	if m.acquire[op] {
		return 1, s == 0
	}
	return 0, s == 1
}

func (m *mutexSpec) describe(s int32) string {
	if s == 1 {
		return "held"
	}
	return "free"
}

// multiRegisterSpec is Knossos' multi-register: transactions of reads and
// writes over several registers, applied atomically. A state is an interned
// tuple of value ids, one per key of the partition.
type multiRegisterSpec struct {
	values  *interner
	keys    []string // key names, by slot
	tupleID map[string]int32
	tuples  [][]int32 // tuple 0 is the initial one
	txns    [][]microOp
	memo    map[[2]int32]int32 // (state, op) -> next state, or -1
	mem     *share
}

type microOp struct {
	write bool
	slot  int
	value int32
	check bool // a read whose result is known
}

func (m *multiRegisterSpec) init() int32 { return 0 }

func (m *multiRegisterSpec) step(s int32, op int) (int32, bool) {
	memo := [2]int32{s, int32(op)}
	if next, ok := m.memo[memo]; ok {
		return next, next >= 0
	}
	next := m.apply(s, op)
	m.memo[memo] = next
	return next, next >= 0
}

// apply runs transaction op on tuple s and returns the resulting tuple, or
// -1 when a read disagrees (or the memory budget is spent, which the caller
// reports as Unknown).
func (m *multiRegisterSpec) apply(s int32, op int) int32 {
	cur := append([]int32(nil), m.tuples[s]...)
	for _, mop := range m.txns[op] {
		switch {
		case mop.write:
			cur[mop.slot] = mop.value
		case mop.check && cur[mop.slot] != mop.value:
			return -1
		}
	}
	key := tupleKey(cur)
	if id, ok := m.tupleID[key]; ok {
		return id
	}
	if !m.mem.take(int64(4*len(cur) + len(key) + 64)) {
		return -1
	}
	return m.addTuple(key, cur)
}

func (m *multiRegisterSpec) addTuple(key string, t []int32) int32 {
	id := int32(len(m.tuples))
	m.tupleID[key] = id
	m.tuples = append(m.tuples, t)
	return id
}

func tupleKey(t []int32) string {
	b := make([]byte, 0, 4*len(t))
	for _, v := range t {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return string(b)
}

func (m *multiRegisterSpec) describe(s int32) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range m.tuples[s] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", m.keys[i], m.values.describe(v))
	}
	b.WriteByte('}')
	return b.String()
}

package txnoracle

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Short names for the models in the tables.
const (
	ser  = Serializable
	str  = StrictSerializable
	sss  = StrongSessionSerializable
	si   = SnapshotIsolation
	sssi = StrongSessionSI
	ssi  = StrongSI
)

// classic are histories from the literature with their known verdicts:
// each lists the models that hold; every other model must not.
var classic = []struct {
	name  string
	hist  string
	valid []Model
}{
	{
		// Every transaction runs alone, in real-time and process order.
		name: "serial",
		hist: `
			T1 p0 ok [0,1] [append 1 1] [w 2 1]
			T2 p1 ok [2,3] [r 1 [1]] [append 1 2] [r 2 1] [w 2 2]
			T3 p0 ok [4,5] [r 1 [1 2]] [r 2 2]`,
		valid: Models,
	},
	{
		// Write skew (Berenson et al. 1995, A5B): both read x and y
		// initial, each writes one. SI allows it; no serial order does.
		name: "write skew (register)",
		hist: `
			T1 p0 ok [0,3] [r 1 nil] [r 2 nil] [w 1 1]
			T2 p1 ok [1,2] [r 1 nil] [r 2 nil] [w 2 1]`,
		valid: []Model{si, sssi, ssi},
	},
	{
		name: "write skew (list-append)",
		hist: `
			T1 p0 ok [0,3] [r 1 []] [r 2 []] [append 1 1]
			T2 p1 ok [1,2] [r 1 []] [r 2 []] [append 2 1]
			T3 p0 ok [4,5] [r 1 [1]] [r 2 [1]]`,
		valid: []Model{si, sssi, ssi},
	},
	{
		// Lost update (Berenson et al. 1995, P4): both read x's initial
		// state and both write x; a later read sees only one write.
		name: "lost update",
		hist: `
			T1 p0 ok [0,3] [r 1 nil] [w 1 1]
			T2 p1 ok [1,2] [r 1 nil] [w 1 2]
			T3 p2 ok [4,5] [r 1 1]`,
	},
	{
		name: "lost update (list-append)",
		hist: `
			T1 p0 ok [0,3] [r 1 []] [append 1 1]
			T2 p1 ok [1,2] [r 1 []] [append 1 2]`,
	},
	{
		// Read skew (Berenson et al. 1995, A5A; Adya's G-single): T2 sees
		// T1's write of y but not its write of x.
		name: "read skew",
		hist: `
			T1 p0 ok [0,3] [w 1 1] [w 2 1]
			T2 p1 ok [1,2] [r 1 nil] [r 2 1]`,
	},
	{
		// G1a, aborted read (Adya 1999 §4.1.1): T2 reads an aborted write.
		name: "G1a aborted read",
		hist: `
			T1 p0 fail [0,1] [w 1 1]
			T2 p1 ok [2,3] [r 1 1]`,
	},
	{
		name: "G1a aborted append",
		hist: `
			T1 p0 fail [0,1] [append 1 1]
			T2 p1 ok [2,3] [r 1 [1]]`,
	},
	{
		// G1b, intermediate read (Adya 1999 §4.1.2): T2 reads a version T1
		// overwrote before committing.
		name: "G1b intermediate read",
		hist: `
			T1 p0 ok [0,1] [w 1 1] [w 1 2]
			T2 p1 ok [2,3] [r 1 1]`,
	},
	{
		name: "G1b intermediate list",
		hist: `
			T1 p0 ok [0,1] [append 1 1] [append 1 2]
			T2 p1 ok [2,3] [r 1 [1]]`,
	},
	{
		// Long fork (Cerone et al. 2015, Fig. 2(d); parallel SI allows
		// it): two readers see two independent writes in opposite orders.
		// No snapshot is a prefix of a single commit order.
		name: "long fork",
		hist: `
			T1 p0 ok [0,5] [w 1 1]
			T2 p1 ok [1,6] [w 2 1]
			T3 p2 ok [2,7] [r 1 1] [r 2 nil]
			T4 p3 ok [3,8] [r 1 nil] [r 2 1]`,
	},
	{
		// The read-only anomaly (Fekete, O'Neil & O'Neil, "A Read-Only
		// Transaction Anomaly Under Snapshot Isolation", SIGMOD Record
		// 2004): SI, yet T2 < T1 (rw on y), T1 < T3 (wr on y), T3 < T2 (rw
		// on x) form a cycle.
		name: "read-only anomaly",
		hist: `
			T2 p0 ok [0,9] [r 1 nil] [r 2 nil] [w 1 2]
			T1 p1 ok [1,2] [r 2 nil] [w 2 1]
			T3 p2 ok [3,4] [r 1 nil] [r 2 1]`,
		valid: []Model{si, sssi, ssi},
	},
	{
		// A stale read: T2 was invoked after T1 completed but does not
		// see it. Serializable as T2 T1; not in real time.
		name: "real-time violation",
		hist: `
			T1 p0 ok [0,1] [w 1 1]
			T2 p1 ok [2,3] [r 1 nil]`,
		valid: []Model{ser, sss, si, sssi},
	},
	{
		// The same in one process: the process does not see its own write.
		name: "process-order violation",
		hist: `
			T1 p0 ok [0,1] [append 1 1]
			T2 p0 ok [2,3] [r 1 []]`,
		valid: []Model{ser, si},
	},
	{
		// An indeterminate write may be seen...
		name: "info seen",
		hist: `
			T1 p0 info [0,-] [w 1 1]
			T2 p1 ok [2,3] [r 1 1]`,
		valid: Models,
	},
	{
		// ...or not...
		name: "info unseen",
		hist: `
			T1 p0 info [0,-] [w 1 1]
			T2 p1 ok [2,3] [r 1 nil]`,
		valid: Models,
	},
	{
		// ...but once seen it stays seen in real time: the indeterminate
		// append must fall between T3 and T2, which real time forbids.
		name: "info seen then unseen",
		hist: `
			T1 p0 info [0,-] [append 1 1]
			T2 p1 ok [1,2] [r 1 [1]]
			T3 p2 ok [3,4] [r 1 []]`,
		valid: []Model{ser, sss, si, sssi},
	},
	{
		// An indeterminate transaction's reads are not checked.
		name: "info reads ignored",
		hist: `
			T1 p0 info [0,-] [r 1 5] [w 1 1]
			T2 p1 ok [2,3] [r 1 1]`,
		valid: Models,
	},
	{
		// A read of a value nobody wrote.
		name: "garbage read",
		hist: `
			T1 p0 ok [0,1] [append 1 1]
			T2 p1 ok [2,3] [r 1 [1 7]]`,
	},
	{
		// Internal inconsistency: a transaction does not see its own
		// append.
		name: "internal",
		hist: `
			T1 p0 ok [0,1] [append 1 1] [r 1 []]`,
	},
	{
		// G0, write cycle: T1 and T2 append to two lists in opposite
		// orders.
		name: "G0 write cycle",
		hist: `
			T1 p0 ok [0,3] [append 1 1] [append 2 1]
			T2 p1 ok [1,2] [append 1 2] [append 2 2]
			T3 p2 ok [4,5] [r 1 [1 2]] [r 2 [2 1]]`,
	},
	{
		// G1c, circular information flow (Adya 1999 §4.1.3): each reads
		// the other's write.
		name: "G1c circular information flow",
		hist: `
			T1 p0 ok [0,3] [w 1 1] [r 2 1]
			T2 p1 ok [1,2] [w 2 1] [r 1 1]`,
	},
	{
		// Fractured read (Bailis et al., "Scalable Atomic Visibility with
		// RAMP Transactions", SIGMOD 2014): T2 sees one of T1's appends but
		// not the other, from a later transaction's view.
		name: "fractured read",
		hist: `
			T1 p0 ok [0,1] [append 1 1] [append 2 1]
			T2 p1 ok [2,3] [r 1 [1]] [r 2 []]`,
	},
	{
		// A read whose result is unknown constrains nothing, even in an
		// OK transaction.
		name: "unknown read",
		hist: `
			T1 p0 ok [0,1] [w 1 1]
			T2 p1 ok [2,3] [r 1 ?] [w 1 2]`,
		valid: Models,
	},
	{
		// Values need not be unique: two writes of 1.
		name: "repeated values",
		hist: `
			T1 p0 ok [0,1] [w 1 1]
			T2 p1 ok [2,3] [r 1 1] [w 1 2]
			T3 p0 ok [4,5] [r 1 2] [w 1 1]
			T4 p1 ok [6,7] [r 1 1]`,
		valid: Models,
	},
	{
		// Mixed keys: list 1, register 2.
		name: "mixed",
		hist: `
			T1 p0 ok [0,3] [append 1 1] [w 2 1]
			T2 p1 ok [1,2] [r 1 [1]] [r 2 nil]`,
	},
}

func TestClassicHistories(t *testing.T) {
	ctx := context.Background()
	for _, c := range classic {
		t.Run(c.name, func(t *testing.T) {
			h, err := Parse(c.hist)
			if err != nil {
				t.Fatal(err)
			}
			res, err := CheckAll(ctx, h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range Models {
				want := Invalid
				for _, v := range c.valid {
					if v == m {
						want = Valid
					}
				}
				r := res[m]
				if r.Verdict != want {
					t.Errorf("%v: %v, want %v (order %v, events %v, work %d)", m, r.Verdict, want, r.Order, r.Events, r.Work)
				}
				if r.Verdict == Valid {
					if err := verifyWitness(h, r); err != nil {
						t.Errorf("%v: witness does not hold: %v", m, err)
					}
				}
			}
		})
	}
}

func TestWitnesses(t *testing.T) {
	ctx := context.Background()
	h, err := Parse(classicHist(t, "write skew (register)"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Check(ctx, h, SnapshotIsolation, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Both must start before either commits.
	if len(r.Events) != 4 || r.Events[0].Kind != Start || r.Events[1].Kind != Start {
		t.Errorf("write skew SI witness %v: want both starts before the commits", r.Events)
	}
	h, err = Parse(classicHist(t, "real-time violation"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = Check(ctx, h, Serializable, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Order) != 2 || r.Order[0] != 2 || r.Order[1] != 1 {
		t.Errorf("stale read order %v, want [2 1]", r.Order)
	}
}

func classicHist(t *testing.T, name string) string {
	for _, c := range classic {
		if c.name == name {
			return c.hist
		}
	}
	t.Fatalf("no classic history %q", name)
	return ""
}

func TestWorkBound(t *testing.T) {
	// Six concurrent blind writers and a read that no order explains: the
	// search must visit every order; with a bound of 10 it gives up.
	var b strings.Builder
	b.WriteString("T0 p0 ok [0,100] [r 1 9]\n")
	for i := 1; i <= 6; i++ {
		b.WriteString("T" + itoa(i) + " p" + itoa(i) + " ok [1,99] [w 1 " + itoa(i) + "] [w 2 " + itoa(i) + "]\n")
	}
	h, err := Parse(b.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Model{Serializable, SnapshotIsolation} {
		r, err := Check(context.Background(), h, m, Options{MaxWork: 10})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != Unknown || r.Reason == "" {
			t.Errorf("%v with MaxWork 10: %v (%q), want unknown with a reason", m, r.Verdict, r.Reason)
		}
		r, err = Check(context.Background(), h, m, Options{MaxWork: 10_000_000})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != Invalid {
			t.Errorf("%v: %v after %d nodes, want invalid", m, r.Verdict, r.Work)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Check(ctx, h, SnapshotIsolation, Options{MaxWork: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != Unknown || !strings.Contains(r.Reason, "canceled") {
		t.Errorf("cancelled context: %v (%q), want unknown, canceled", r.Verdict, r.Reason)
	}
}

func itoa(i int) string {
	return string(rune('0' + i))
}

func TestBadHistories(t *testing.T) {
	for _, c := range []struct{ hist, want string }{
		{"T1 p0 ok [0,1] [w 1 1]\nT1 p1 ok [2,3] [r 1 1]", "duplicate ID"},
		{"T1 p0 ok [3,1] [w 1 1]", "not after invocation"},
		{"T1 p0 ok [0,1] [w 1 1] [append 1 2]", "both as a list and as a register"},
	} {
		h, err := Parse(c.hist)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Check(context.Background(), h, Serializable, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.hist, err, c.want)
		}
	}
	var big History
	for i := range MaxTxns + 1 {
		big = append(big, Txn{ID: i, Invoke: 2 * i, Complete: 2*i + 1, Ops: []MicroOp{{Kind: Write, Key: 1, Value: i}}})
	}
	if _, err := Check(context.Background(), big, Serializable, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d transactions: error %v, want ErrTooLarge", len(big), err)
	}
	for _, c := range []struct{ text, want string }{
		{"T1 p0 ok [0,1] [x 1 1]", `line 1 "T1 p0 ok [0,1] [x 1 1]": micro-op [x 1 1]: function "x"`},
		{"\nT1 p0 maybe [0,1]", "line 2"},
		{"T1 p0 ok [0,1] [r 1 [1 2]", "unbalanced"},
	} {
		if _, err := Parse(c.text); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): error %v, want %q", c.text, err, c.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, c := range classic {
		h, err := Parse(c.hist)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(h.String())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if h.String() != again.String() {
			t.Errorf("%s: round trip\n%s\nbecame\n%s", c.name, h, again)
		}
	}
}

// verifyWitness replays a Valid result's witness against the definitions
// directly, independently of the search: the order or events must respect
// the model's order constraints, include every OK transaction and no
// aborted one, and explain every OK transaction's reads.
func verifyWitness(h History, r Result) error {
	byID := map[int]*Txn{}
	for i := range h {
		byID[h[i].ID] = &h[i]
	}
	if r.Model.snapshot() {
		return verifySI(h, byID, r)
	}
	return verifySerial(h, byID, r)
}

func TestWriters(t *testing.T) {
	h, err := Parse(`
		T1 p0 ok [0,3] [append 1 1] [r 1 [1]] [w 2 5]
		T2 p1 fail [1,2] [r 2 ?] [append 1 2]
		T3 p2 info [3,-] [r 2 ?] [w 2 6]
		T4 p1 ok [4,5] [r 2 nil] [r 1 []]`)
	if err != nil {
		t.Fatal(err)
	}
	wantJSONL := `{"type":"invoke","process":0,"f":"txn","index":0,"value":[["append",1,1],["r",1,null],["w",2,5]]}
{"type":"invoke","process":1,"f":"txn","index":1,"value":[["r",2,null],["append",1,2]]}
{"type":"fail","process":1,"f":"txn","index":2,"value":[["r",2,null],["append",1,2]]}
{"type":"invoke","process":2,"f":"txn","index":3,"value":[["r",2,null],["w",2,6]]}
{"type":"ok","process":0,"f":"txn","index":4,"value":[["append",1,1],["r",1,[1]],["w",2,5]]}
{"type":"invoke","process":1,"f":"txn","index":5,"value":[["r",2,null],["r",1,null]]}
{"type":"ok","process":1,"f":"txn","index":6,"value":[["r",2,null],["r",1,[]]]}
`
	if got := string(h.JSONL()); got != wantJSONL {
		t.Errorf("JSONL:\n%s\nwant\n%s", got, wantJSONL)
	}
	wantEDN := "{:type :ok, :f :txn, :value [[:append 1 1] [:r 1 [1]] [:w 2 5]], :process 0, :index 4}"
	if got := strings.Split(string(h.EDN()), "\n")[4]; got != wantEDN {
		t.Errorf("EDN line 5: %s, want %s", got, wantEDN)
	}
}

// TestUpdateSerializable decides update serializability on histories
// whose verdict follows from its definition (each read-only transaction
// serializable with the update transactions, each in an order of its
// own), by hand.
func TestUpdateSerializable(t *testing.T) {
	for _, c := range []struct {
		name string
		hist string
		want Verdict
	}{
		// Write skew between two update transactions: the updates alone
		// have no serial order.
		{"write skew", `
			T1 p0 ok [0,3] [r 1 []] [r 2 []] [append 1 1]
			T2 p1 ok [1,2] [r 1 []] [r 2 []] [append 2 1]`, Invalid},
		// The long fork: two independent updates, seen in opposite orders
		// by two readers. Each reader with the updates is serializable.
		{"long fork", `
			T1 p0 ok [0,1] [append 1 1]
			T2 p1 ok [0,1] [append 2 1]
			T3 p2 ok [2,3] [r 1 [1]] [r 2 []]
			T4 p3 ok [2,3] [r 1 []] [r 2 [1]]`, Valid},
		// Fekete, O'Neil & O'Neil's read-only anomaly (SIGMOD Record
		// 33(3), 2004): T1 must precede T2 (it read x before T2's
		// append), and T3 saw T2's append but not T1's.
		{"read-only anomaly", `
			T1 p0 ok [0,5] [r 1 []] [r 2 []] [append 2 1]
			T2 p1 ok [1,2] [r 1 []] [append 1 2]
			T3 p2 ok [3,4] [r 1 [2]] [r 2 []]`, Invalid},
		// Serializable histories are update-serializable.
		{"serial", `
			T1 p0 ok [0,1] [append 1 1] [w 2 1]
			T2 p1 ok [2,3] [r 1 [1]] [append 1 2] [r 2 1] [w 2 2]
			T3 p0 ok [4,5] [r 1 [1 2]] [r 2 2]`, Valid},
		// A read of an aborted write (G1a): no reader sees a state of the
		// committed updates.
		{"aborted read", `
			T1 p0 fail [0,1] [append 1 1]
			T2 p1 ok [2,3] [r 1 [1]]`, Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := Parse(c.hist)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Check(context.Background(), h, UpdateSerializable, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != c.want {
				t.Errorf("update-serializable: %v, want %v (%s)", r.Verdict, c.want, r.Reason)
			}
			all, err := CheckAll(context.Background(), h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if all[UpdateSerializable].Verdict != r.Verdict {
				t.Errorf("CheckAll: %v, Check: %v", all[UpdateSerializable].Verdict, r.Verdict)
			}
			// Update serializability is implied by serializability.
			if all[Serializable].Verdict == Valid && r.Verdict != Valid {
				t.Errorf("serializable but not update-serializable")
			}
		})
	}
}

// TestOTV: the history of the monotonic-atomic-view definition (T2 sees
// T1's append to x, then misses its append to y) shows OTV; the same
// reads in the other order, or a later read showing T1's append, do not;
// an aborted writer is not observed (that is an aborted read).
func TestOTV(t *testing.T) {
	writer := func(o Outcome) Txn {
		return Txn{ID: 1, Process: 0, Outcome: o, Invoke: 0, Complete: 1, Ops: []MicroOp{{Kind: Append, Key: 1, Value: 1}, {Kind: Append, Key: 2, Value: 1}}}
	}
	reader := func(ops ...MicroOp) Txn {
		return Txn{ID: 2, Process: 1, Outcome: OK, Invoke: 2, Complete: 3, Ops: ops}
	}
	sawX := MicroOp{Kind: ReadList, Key: 1, List: []int{1}}
	missedY := MicroOp{Kind: ReadList, Key: 2}
	for _, tc := range []struct {
		name string
		h    History
		want bool
	}{
		{"fractured", History{writer(OK), reader(sawX, missedY)}, true},
		{"indeterminate writer seen", History{writer(Info), reader(sawX, missedY)}, true},
		{"y before x", History{writer(OK), reader(missedY, sawX)}, false},
		{"y shown", History{writer(OK), reader(sawX, MicroOp{Kind: ReadList, Key: 2, List: []int{1}})}, false},
		{"aborted writer", History{writer(Fail), reader(sawX, missedY)}, false},
		{"re-read lost it", History{writer(OK), reader(sawX, MicroOp{Kind: ReadList, Key: 1})}, true},
	} {
		w, got := OTV(tc.h)
		if got != tc.want {
			t.Errorf("%s: OTV %v (%v), want %v\n%s", tc.name, got, w, tc.want, tc.h)
		}
		if got && (w.Reader != 2 || w.Writer != 1) {
			t.Errorf("%s: witness %v, want T2 reading, T1 vanishing", tc.name, w)
		}
	}
}

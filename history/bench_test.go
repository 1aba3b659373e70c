package history

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"consist/internal/corpus"
)

// genHistory returns a valid list-append history of n events: 10
// concurrent clients running transactions of one to four micro-ops, some
// failing or crashing (a crashed client continues under a new process),
// and a nemesis now and then. It is deterministic for a seed.
func genHistory(n int, seed int64) []Event {
	rng := rand.New(rand.NewSource(seed))
	slots := make([]Process, 10)
	for i := range slots {
		slots[i] = Process(i)
	}
	next := Process(len(slots))
	open := map[Process]*Event{}
	events := make([]Event, 0, n)
	add := func(e Event) {
		e.Index, e.Time = int64(len(events)), int64(len(events))*1000+rng.Int63n(1000)
		events = append(events, e)
	}
	for len(events) < n {
		if rng.Intn(100) == 0 {
			add(Event{Type: Info, Process: Nemesis, F: "partition", Value: []any{"n1", "n2"}, HasValue: true})
			continue
		}
		slot := rng.Intn(len(slots))
		p := slots[slot]
		inv, ok := open[p]
		if !ok {
			e := Event{Type: Invoke, Process: p, F: "txn", Value: genTxn(rng, nil), HasValue: true}
			add(e)
			open[p] = &events[len(events)-1]
			continue
		}
		delete(open, p)
		switch r := rng.Intn(10); {
		case r < 7:
			add(Event{Type: OK, Process: p, F: "txn", Value: genTxn(rng, inv.Value.([]any)), HasValue: true})
		case r < 9:
			add(Event{Type: Fail, Process: p, F: "txn", Value: inv.Value, HasValue: true, Error: "aborted"})
		default:
			add(Event{Type: Info, Process: p, F: "txn", Value: inv.Value, HasValue: true, Error: "timeout"})
			slots[slot], next = next, next+1
		}
	}
	return events
}

// genTxn returns a new transaction, or, given an invocation's micro-ops,
// their completion with the reads filled in.
func genTxn(rng *rand.Rand, inv []any) []any {
	if inv != nil {
		out := make([]any, len(inv))
		for i, m := range inv {
			mop := m.([]any)
			if mop[0] == "r" {
				read := make([]any, rng.Intn(5))
				for j := range read {
					read[j] = int64(j + 1)
				}
				mop = []any{"r", mop[1], read}
			}
			out[i] = mop
		}
		return out
	}
	mops := make([]any, 1+rng.Intn(4))
	for i := range mops {
		k := int64(rng.Intn(50))
		if rng.Intn(2) == 0 {
			mops[i] = []any{"append", k, int64(rng.Intn(1000))}
		} else {
			mops[i] = []any{"r", k, nil}
		}
	}
	return mops
}

// ednHistory writes events as Elle-style EDN, one op map per line.
func ednHistory(events []Event) []byte {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("{:index ")
		b.WriteString(strconv.FormatInt(e.Index, 10))
		b.WriteString(", :time ")
		b.WriteString(strconv.FormatInt(e.Time, 10))
		b.WriteString(", :type :")
		b.WriteString(e.Type.String())
		b.WriteString(", :process ")
		if e.Process == Nemesis {
			b.WriteString(":nemesis")
		} else {
			b.WriteString(strconv.FormatInt(int64(e.Process), 10))
		}
		b.WriteString(", :f :")
		b.WriteString(e.F)
		b.WriteString(", :value ")
		writeEDN(&b, e.Value)
		if e.Error != "" {
			b.WriteString(", :error :")
			b.WriteString(e.Error)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// writeEDN writes the values genHistory makes: strings as keywords.
func writeEDN(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("nil")
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case string:
		b.WriteString(":" + v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeEDN(b, e)
		}
		b.WriteByte(']')
	}
}

func TestGeneratedHistoryReadsBack(t *testing.T) {
	events := genHistory(5000, 1)
	var jsonl bytes.Buffer
	if err := WriteJSONL(&jsonl, events); err != nil {
		t.Fatal(err)
	}
	for format, data := range map[Format][]byte{EDN: ednHistory(events), JSONL: jsonl.Bytes()} {
		h, err := Parse(data, "gen", Auto)
		if err != nil {
			t.Fatalf("%v: %v", format, err)
		}
		if h.Format != format || len(h.Events) != len(events) {
			t.Fatalf("%v: read as %v, %d events; want %d", format, h.Format, len(h.Events), len(events))
		}
		for i := range events {
			if err := sameEvent(&events[i], &h.Events[i]); err != nil {
				t.Fatalf("%v event %d: %v", format, i, err)
			}
		}
	}
}

func benchmarkParse(b *testing.B, data []byte, format Format) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "bench", format); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEDN(b *testing.B) {
	benchmarkParse(b, ednHistory(genHistory(100_000, 1)), EDN)
}

// genRegisterHistory returns a valid register history of n events shaped
// like checker/linearizable/reggen's (which this package cannot import):
// 24 clients reading, writing and cas-ing 5 keys, 2% of operations
// crashing, every event timed. It is deterministic for a seed.
func genRegisterHistory(n int, seed int64) []Event {
	rng := rand.New(rand.NewSource(seed))
	slots := make([]Process, 24)
	for i := range slots {
		slots[i] = Process(i)
	}
	next := Process(len(slots))
	open := map[Process]Event{}
	last := map[string]int64{}
	events := make([]Event, 0, n)
	var now int64
	add := func(e Event) {
		now += 1 + rng.Int63n(5000)
		e.Index, e.Time = int64(len(events)), now
		events = append(events, e)
	}
	for len(events) < n {
		slot := rng.Intn(len(slots))
		p := slots[slot]
		inv, ok := open[p]
		if !ok {
			key := "k" + strconv.Itoa(rng.Intn(5))
			e := Event{Type: Invoke, Process: p, Key: key, HasValue: true}
			switch r := rng.Intn(10); {
			case r < 4:
				e.F, e.Value = "read", nil
			case r < 8:
				last[key]++
				e.F, e.Value = "write", last[key]
			default:
				last[key]++
				e.F, e.Value = "cas", []any{last[key] - 1, last[key]}
			}
			add(e)
			open[p] = e
			continue
		}
		delete(open, p)
		done := inv
		switch r := rng.Intn(100); {
		case r < 2:
			done.Type = Info
			slots[slot], next = next, next+1
		case r < 10 && inv.F == "cas":
			done.Type = Fail
		default:
			done.Type = OK
			if inv.F == "read" {
				done.Value = last[inv.Key.(string)]
			}
		}
		add(done)
	}
	return events
}

// BenchmarkParseJSONL reads JSON Lines histories of list-append
// transactions and of registers, decoding every line with encoding/json
// (decoder=json, the old path), with the fast decoder on one goroutine
// (decoder=fast) and on every core (decoder=fast-parallel), and through the
// whole of Parse, pairing included.
func BenchmarkParseJSONL(b *testing.B) {
	for _, shape := range []struct {
		name   string
		events []Event
	}{
		{"txn", genHistory(100_000, 1)},
		{"register", genRegisterHistory(200_000, 1)},
	} {
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, shape.events); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		for _, dec := range []struct {
			name    string
			workers int
			fast    bool
		}{
			{"json", 1, false},
			{"fast", 1, true},
			{"fast-parallel", runtime.GOMAXPROCS(0), true},
		} {
			b.Run("shape="+shape.name+"/decoder="+dec.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := parseJSONLWith(data, "bench", dec.workers, dec.fast); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("shape="+shape.name+"/Parse", func(b *testing.B) {
			benchmarkParse(b, data, JSONL)
		})
	}
}

func BenchmarkParseHugeSCC(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpus.Require(b, "jepsen/elle/histories"), "huge-scc.edn"))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkParse(b, data, Auto)
}

func BenchmarkParseEtcdLogs(b *testing.B) {
	dir := corpus.Require(b, "porcupine/test_data/jepsen")
	data, err := os.ReadFile(filepath.Join(dir, "etcd_000.log"))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkParse(b, data, Porcupine)
}

// BenchmarkRecorder records and writes events like a run's: a register
// operation's invocation and completion.
func BenchmarkRecorder(b *testing.B) {
	rec := NewRecorder(io.Discard, time.Hour)
	inv := Event{Type: Invoke, Process: 7, F: "cas", Key: "k3", Value: []any{int64(1234), int64(5678)}, HasValue: true, Node: "n1"}
	ok := inv
	ok.Type = OK
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := rec.Record(inv); err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Record(ok); err != nil {
			b.Fatal(err)
		}
		if i%50_000 == 0 {
			rec.Flush()
		}
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecorderParallel records from every core at once.
func BenchmarkRecorderParallel(b *testing.B) {
	rec := NewRecorder(io.Discard, DefaultFlushInterval)
	inv := Event{Type: Invoke, Process: 7, F: "cas", Key: "k3", Value: []any{int64(1234), int64(5678)}, HasValue: true, Node: "n1"}
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rec.Record(inv); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPair measures pairing with and without the index and time
// checks the readers add, on the register history of BenchmarkParseJSONL.
func BenchmarkPair(b *testing.B) {
	events := genRegisterHistory(200_000, 1)
	for _, checked := range []bool{false, true} {
		b.Run(fmt.Sprintf("order-checked=%v", checked), func(b *testing.B) {
			for b.Loop() {
				h := &History{Source: "bench", Events: events}
				var order *orderCheck
				if checked {
					order = newOrderCheck()
				}
				if err := h.pair(order); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

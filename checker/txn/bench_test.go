package txn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"consist/checker"
	"consist/history"
	"consist/internal/corpus"
	"consist/internal/txngen"
)

// genListAppend writes a seeded list-append history of n transactions in
// consist's JSON Lines: up to conc transactions open at once, each of 1–7
// micro-ops (4 on average) over keys keys, executed atomically at its
// completion (so the history is strictly serializable), about 1% crashed
// (info, their effects applied or not at random, their process retired)
// and 1% aborted. As Jepsen's append workload does, a key takes at most
// 32 appends and is then retired for a fresh one, so reads stay short.
func genListAppend(seed uint64, n, keys, conc int) []byte {
	rng := rand.New(rand.NewPCG(seed, 15))
	type open struct {
		proc int
		mops [][3]int // kind (0 append, 1 read), key, value
	}
	var state [][]int
	var next []int
	slot := make([]int, keys) // the key each slot uses now
	for i := range slot {
		slot[i] = i
		state, next = append(state, nil), append(next, 0)
	}
	var b strings.Builder
	var opens []open
	procs := make([]int, conc)
	for i := range procs {
		procs[i] = i
	}
	nextProc := conc
	free := append([]int(nil), procs...)
	started := 0
	writeMops := func(mops [][3]int, reads bool) {
		b.WriteByte('[')
		for j, m := range mops {
			if j > 0 {
				b.WriteByte(',')
			}
			if m[0] == 0 {
				fmt.Fprintf(&b, `["append",%d,%d]`, m[1], m[2])
				continue
			}
			fmt.Fprintf(&b, `["r",%d,`, m[1])
			if !reads {
				b.WriteString("null]")
				continue
			}
			b.WriteByte('[')
			for x, v := range state[m[1]] {
				if x > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(v))
			}
			b.WriteString("]]")
		}
		b.WriteByte(']')
	}
	for started < n || len(opens) > 0 {
		if started < n && len(free) > 0 && (len(opens) == 0 || rng.IntN(2) == 0) {
			p := free[len(free)-1]
			free = free[:len(free)-1]
			o := open{proc: p}
			for range 1 + rng.IntN(7) {
				sl := rng.IntN(keys)
				if next[slot[sl]] >= 32 {
					slot[sl] = len(state)
					state, next = append(state, nil), append(next, 0)
				}
				k := slot[sl]
				if rng.IntN(2) == 0 {
					next[k]++
					o.mops = append(o.mops, [3]int{0, k, next[k]})
				} else {
					o.mops = append(o.mops, [3]int{1, k, 0})
				}
			}
			fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"txn","value":`, p)
			writeMops(o.mops, false)
			b.WriteString("}\n")
			opens = append(opens, o)
			started++
			continue
		}
		i := rng.IntN(len(opens))
		o := opens[i]
		opens = append(opens[:i], opens[i+1:]...)
		r := rng.IntN(100)
		typ := "ok"
		switch {
		case r == 0:
			typ = "fail"
		case r == 1:
			typ = "info"
		}
		apply := typ == "ok" || typ == "info" && rng.IntN(2) == 0
		// Execute atomically: reads see the state as the txn goes.
		var done [][3]int
		var out strings.Builder
		out.WriteByte('[')
		for j, m := range o.mops {
			if j > 0 {
				out.WriteByte(',')
			}
			if m[0] == 0 {
				if apply {
					state[m[1]] = append(state[m[1]], m[2])
				}
				fmt.Fprintf(&out, `["append",%d,%d]`, m[1], m[2])
			} else {
				fmt.Fprintf(&out, `["r",%d,`, m[1])
				if typ != "ok" {
					out.WriteString("null]")
				} else {
					out.WriteByte('[')
					for x, v := range state[m[1]] {
						if x > 0 {
							out.WriteByte(',')
						}
						out.WriteString(strconv.Itoa(v))
					}
					out.WriteString("]]")
				}
			}
			done = append(done, m)
		}
		out.WriteByte(']')
		if typ == "info" {
			free = append(free, nextProc)
			nextProc++
			continue
		}
		fmt.Fprintf(&b, `{"type":%q,"process":%d,"f":"txn","value":%s}`+"\n", typ, o.proc, out.String())
		free = append(free, o.proc)
	}
	return []byte(b.String())
}

func TestGeneratedHistoryIsStrictSerializable(t *testing.T) {
	data := genListAppend(1, 2000, 20, 5)
	h, err := history.Parse(data, "gen.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range (Checker{}).Check(context.Background(), h, checker.Options{}) {
		if r.Verdict != checker.Valid {
			t.Errorf("%s: %s %s %v", r.Model, r.Verdict, r.Reason, kindsOf(r.Anomalies))
		}
	}
}

// BenchmarkListAppend reads and checks a generated list-append history
// against every transactional model at once; it reports transactions per
// second and bytes allocated per transaction.
func BenchmarkListAppend(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("txns=%d", n), func(b *testing.B) {
			data := genListAppend(7, n, 50, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h, err := history.Parse(data, "gen.jsonl", history.JSONL)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range (Checker{}).Check(context.Background(), h, checker.Options{}) {
					if r.Verdict != checker.Valid {
						b.Fatalf("%s: %s %s", r.Model, r.Verdict, r.Reason)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "txns/s")
		})
	}
}

// TestWriteGenerated writes a generated history of $CONSIST_TXNGEN_N
// transactions to $CONSIST_TXNGEN_OUT, for timing `consist check` on it;
// skipped unless both are set.
func TestWriteGenerated(t *testing.T) {
	out, n := os.Getenv("CONSIST_TXNGEN_OUT"), os.Getenv("CONSIST_TXNGEN_N")
	if out == "" || n == "" {
		t.Skip("set CONSIST_TXNGEN_OUT and CONSIST_TXNGEN_N to write a generated list-append history")
	}
	count, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("CONSIST_TXNGEN_N=%q: %v", n, err)
	}
	if err := os.WriteFile(out, genListAppend(7, count, 50, 8), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTxngen reads from its file and checks, against every
// transactional model at once, issue 15's benchmark history
// (txngen.Bench: list-append, 4 micro-ops a transaction, 50 active keys,
// 10 clients, 1% crashed, 1% aborted) at 10,000 and 100,000 transactions,
// and at 1,000,000 unless -short; it reports transactions per second. The
// file is written once per size, outside the timing.
func BenchmarkTxngen(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	dir := b.TempDir()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("txns=%d", n), func(b *testing.B) {
			path, _, err := txngen.BenchFile(context.Background(), dir, n)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				h, err := history.ReadFile(path, history.JSONL)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range (Checker{}).Check(context.Background(), h, checker.Options{}) {
					if r.Verdict != checker.Valid {
						b.Fatalf("%s: %s %s", r.Model, r.Verdict, r.Reason)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "txns/s")
		})
	}
}

// BenchmarkHugeSCC reads and checks Elle's performance case, huge-scc.edn
// (10,254 transactions, one strongly connected component of thousands),
// against every transactional model at once.
func BenchmarkHugeSCC(b *testing.B) {
	path := filepath.Join(corpus.Require(b, "jepsen/elle/histories"), "huge-scc.edn")
	b.ReportAllocs()
	for b.Loop() {
		h, err := history.ReadFile(path, history.Auto)
		if err != nil {
			b.Fatal(err)
		}
		rs := (Checker{}).Check(context.Background(), h, checker.Options{})
		if rs[0].Verdict != checker.Invalid {
			b.Fatalf("%s: %s %s, want invalid", rs[0].Model, rs[0].Verdict, rs[0].Reason)
		}
	}
}

package history

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"consist/internal/corpus"
)

// corpusFiles returns the history files under dir matching the glob
// patterns, sorted.
func corpusFiles(tb testing.TB, dir string, patterns ...string) []string {
	tb.Helper()
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		tb.Fatalf("no files match %v under %s", patterns, dir)
	}
	return files
}

// allCorpusFiles lists every history file of the corpus: Porcupine's logs,
// Knossos's and Elle's EDN.
func allCorpusFiles(tb testing.TB) []string {
	tb.Helper()
	p := corpus.Require(tb, "porcupine/test_data")
	k := corpus.Require(tb, "jepsen/knossos/data")
	e := corpus.Require(tb, "jepsen/elle/histories")
	files := corpusFiles(tb, p, "jepsen/*.log", "kv/*.txt")
	files = append(files, corpusFiles(tb, k, "*/*/*.edn")...)
	return append(files, corpusFiles(tb, e, "*.edn")...)
}

func readCorpus(tb testing.TB, path string) *History {
	tb.Helper()
	h, err := ReadFile(path, Auto)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return h
}

// Known exception: etcd_095.log is empty upstream, and must fail with a
// clear *Error.
func corpusException(path string) (line int, msg string, ok bool) {
	if filepath.Base(path) == "etcd_095.log" {
		return 0, "the history is empty", true
	}
	return 0, "", false
}

func TestCorpusParsesAndRoundTrips(t *testing.T) {
	for _, path := range allCorpusFiles(t) {
		name := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			h, err := ReadFile(path, Auto)
			if line, msg, ok := corpusException(path); ok {
				wantError(t, err, line, msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Events) == 0 {
				t.Fatal("no events")
			}
			if err := checkRoundTrip(h.Events); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCorpusDetect(t *testing.T) {
	for _, path := range allCorpusFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := EDN
		if strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".txt") {
			want = Porcupine
		}
		if len(data) == 0 {
			want = EDN // etcd_095.log: nothing to detect from; Parse reports it empty
		}
		if got := Detect(data); got != want {
			t.Errorf("Detect(%s) = %v, want %v", path, got, want)
		}
	}
}

// The ops column of expected.tsv counts each file's invocations.
func TestCorpusPorcupineOpCounts(t *testing.T) {
	dir := corpus.Require(t, "porcupine")
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	files := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			t.Fatalf("bad expected.tsv line %q", sc.Text())
		}
		want, err := strconv.Atoi(cols[2])
		if err != nil {
			t.Fatal(err)
		}
		files++
		path := filepath.Join(dir, cols[0])
		if want == 0 {
			if _, err := ReadFile(path, Auto); err == nil {
				t.Errorf("%s: 0 ops, expected an empty-history error", cols[0])
			}
			continue
		}
		h := readCorpus(t, path)
		if len(h.Ops) != want {
			t.Errorf("%s: %d ops, want %d", cols[0], len(h.Ops), want)
		}
		if h.Format != Porcupine {
			t.Errorf("%s: format %v", cols[0], h.Format)
		}
	}
	if files != 109 {
		t.Errorf("expected.tsv lists %d files, want 109", files)
	}
}

// The README's table of line kinds across all etcd logs.
func TestCorpusEtcdLineKinds(t *testing.T) {
	dir := corpus.Require(t, "porcupine/test_data")
	got := map[string]int{}
	for _, path := range corpusFiles(t, dir, "jepsen/*.log") {
		if filepath.Base(path) == "etcd_095.log" {
			continue
		}
		for _, e := range readCorpus(t, path).Events {
			kind := "timed-out"
			switch v := e.Value; {
			case e.HasValue && v == nil:
				kind = "nil"
			case e.HasValue && isPair(v):
				kind = "pair"
			case e.HasValue:
				if _, ok := v.(int64); ok {
					kind = "int"
				} else {
					kind = Describe(v)
				}
			default:
				if e.Error != "timed-out" {
					kind = "no value, error " + e.Error
				}
			}
			got[e.Type.String()+" "+e.F+" "+kind]++
		}
	}
	// The README's table counts only the TAB-separated lines: etcd_100,
	// 101 and 102 separate their fields with spaces (454 lines). These
	// totals cover every line (checked with awk, splitting on any space).
	want := map[string]int{
		"invoke read nil":      2939,
		"invoke write int":     2748,
		"invoke cas pair":      2836,
		"ok read int":          2719,
		"ok read nil":          203,
		"ok write int":         2122,
		"ok cas pair":          431,
		"fail cas pair":        1748,
		"fail read timed-out":  17,
		"info write timed-out": 626,
		"info cas timed-out":   657,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d lines, want %d", k, got[k], n)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected kind of line %q (%d)", k, got[k])
		}
	}
}

func TestCorpusPorcupineKV(t *testing.T) {
	dir := corpus.Require(t, "porcupine/test_data/kv")
	tests := []struct {
		file                     string
		events, ops, procs, keys int
		get, put, app            int
	}{
		{"c01-ok.txt", 116, 58, 1, 10, 50, 4, 62},
		{"c01-bad.txt", 76, 38, 1, 8, 36, 4, 36},
		{"c10-ok.txt", 674, 337, 10, 10, 284, 38, 352},
		{"c10-bad.txt", 810, 405, 10, 10, 386, 44, 380},
		{"c50-ok.txt", 3424, 1712, 50, 10, 1586, 152, 1686},
		{"c50-bad.txt", 4048, 2024, 50, 10, 1788, 206, 2054},
	}
	for _, tt := range tests {
		h := readCorpus(t, filepath.Join(dir, tt.file))
		keys := map[any]bool{}
		fs := map[string]int{}
		for _, e := range h.Events {
			keys[e.Key] = true
			fs[e.F]++
			if _, ok := e.Key.(string); !ok {
				t.Errorf("%s line %d: key %#v is not a string", tt.file, e.Line, e.Key)
			}
		}
		if len(h.Events) != tt.events || len(h.Ops) != tt.ops || h.Processes() != tt.procs || len(keys) != tt.keys {
			t.Errorf("%s: %d events, %d ops, %d processes, %d keys; want %d, %d, %d, %d", tt.file,
				len(h.Events), len(h.Ops), h.Processes(), len(keys), tt.events, tt.ops, tt.procs, tt.keys)
		}
		if fs["get"] != tt.get || fs["put"] != tt.put || fs["append"] != tt.app {
			t.Errorf("%s: get/put/append lines %v, want %d/%d/%d", tt.file, fs, tt.get, tt.put, tt.app)
		}
	}
}

func TestCorpusKnossosFacts(t *testing.T) {
	dir := corpus.Require(t, "jepsen/knossos/data")
	read := func(rel string) *History { return readCorpus(t, filepath.Join(dir, rel)) }

	t.Run("bad-analysis", func(t *testing.T) {
		h := read("cas-register/bad/bad-analysis.edn")
		if len(h.Events) != 16 {
			t.Fatalf("%d events, want 16", len(h.Events))
		}
		e := h.Events[14]
		if e.Index != 14 || e.Process != 21 || e.Type != OK || e.F != "read" || !Equal(e.Value, int64(2)) {
			t.Errorf("event 14 = %+v, want process 21 ok read 2", e)
		}
		if e.Line != 18 { // comments take lines 10, 14 and 15
			t.Errorf("event 14 on line %d, want 18", e.Line)
		}
	})
	t.Run("cas-failure", func(t *testing.T) {
		h := read("cas-register/bad/cas-failure.edn")
		if len(h.Events) != 590 {
			t.Errorf("%d events, want 590", len(h.Events))
		}
		e, prev := h.Events[491], h.Events[478]
		if e.Process != 70 || e.Type != OK || e.F != "read" || !Equal(e.Value, int64(0)) {
			t.Errorf("event 491 = %+v, want process 70 ok read 0", e)
		}
		if prev.Process != 74 || prev.Type != OK || !Equal(prev.Value, int64(0)) {
			t.Errorf("event 478 = %+v, want process 74 ok read 0", prev)
		}
	})
	t.Run("rethink-fail-minimal", func(t *testing.T) {
		e := read("cas-register/bad/rethink-fail-minimal.edn").Events[4]
		if e.Process != 1 || e.F != "read" || !Equal(e.Value, int64(3)) {
			t.Errorf("event 4 = %+v, want process 1 read 3", e)
		}
	})
	t.Run("immediate-failure", func(t *testing.T) {
		h := read("cas-register/bad/immediate-failure.edn")
		if e := h.Events[2]; e.Type != Fail || e.Error != `["temporarily-unavailable",null]` {
			t.Errorf("event 2 = %+v, want a fail with error [:temporarily-unavailable nil]", e)
		}
	})
	t.Run("cas values are integer pairs", func(t *testing.T) {
		cas := 0
		for _, path := range corpusFiles(t, dir, "cas-register/*/*.edn") {
			for _, e := range readCorpus(t, path).Events {
				if e.F != "cas" || !e.IsClient() {
					continue
				}
				cas++
				p, ok := e.Value.([]any)
				if !ok || len(p) != 2 {
					t.Fatalf("%s line %d: cas value %s", path, e.Line, Describe(e.Value))
				}
				_, ok0 := p[0].(int64)
				_, ok1 := p[1].(int64)
				if !ok0 && p[0] != nil || !ok1 && p[1] != nil {
					t.Fatalf("%s line %d: cas value %s is not integers", path, e.Line, Describe(e.Value))
				}
				if e.Key != nil {
					t.Fatalf("%s line %d: cas got key %v", path, e.Line, e.Key)
				}
			}
		}
		if cas == 0 {
			t.Error("no cas ops found")
		}
		first := read("cas-register/good/memstress3-4.edn").Events[0]
		if !Equal(first.Value, []any{int64(0), int64(2)}) {
			t.Errorf("memstress3-4 event 0 value %s, want [0,2]", Describe(first.Value))
		}
	})
	t.Run("memstress totals", func(t *testing.T) {
		events, files := 0, 0
		for _, path := range corpusFiles(t, dir, "cas-register/good/memstress3-*.edn") {
			events += len(readCorpus(t, path).Events)
			files++
		}
		if files != 100 || events != 32448 {
			t.Errorf("%d memstress files with %d events, want 100 with 32448", files, events)
		}
	})
	t.Run("nemesis only", func(t *testing.T) {
		h := read("cas-register/good/mongodb-v0-ack-rollback-.edn")
		if len(h.Events) != 28 || len(h.Ops) != 0 {
			t.Errorf("%d events, %d ops; want 28 nemesis events, 0 ops", len(h.Events), len(h.Ops))
		}
	})
	t.Run("mutex", func(t *testing.T) {
		h := read("mutex/bad/etcd.edn")
		fs := map[string]int{}
		for _, op := range h.Ops {
			fs[op.F]++
		}
		if len(h.Events) != 1135 || fs["acquire"] == 0 || fs["release"] == 0 || len(fs) != 2 {
			t.Errorf("%d events, ops by f %v; want 1135 events of acquire and release", len(h.Events), fs)
		}
		if e := h.Events[1]; e.Type != Fail || e.F != "release" || e.Error != "not-held" || e.Time != 342667129 || e.Index != 1 {
			t.Errorf("event 1 = %+v, want a failed release, error not-held", e)
		}
	})
	t.Run("multi-register micro-ops", func(t *testing.T) {
		h := read("multi-register/good/multi-register.edn")
		if len(h.Events) != 250 {
			t.Errorf("%d events, want 250", len(h.Events))
		}
		fs := map[any]int{}
		for _, e := range h.Events {
			if e.F != "txn" {
				continue
			}
			for _, m := range e.Value.([]any) {
				fs[m.([]any)[0]]++
			}
		}
		if fs["r"] == 0 || fs["w"] == 0 || len(fs) != 2 {
			t.Errorf("micro-op functions %v, want only r and w", fs)
		}
		if e := h.Events[0]; e.Line != 2 || e.Time != 7686455705 || !Equal(e.Value, []any{[]any{"r", "x", nil}}) {
			t.Errorf("event 0 = %+v, want line 2, [[r x nil]]", e)
		}
	})
	t.Run("sizes", func(t *testing.T) {
		for rel, n := range map[string]int{
			"cas-register/bad/mongodb-v0-ack-rollback-6.edn": 1492,
			"cas-register/bad/rethink-fail.edn":              500,
			"cas-register/bad/rethink-fail-smaller.edn":      500,
			"cas-register/good/cas-register-bug.edn":         11,
		} {
			if got := len(read(rel).Events); got != n {
				t.Errorf("%s: %d events, want %d", rel, got, n)
			}
		}
	})
}

func TestCorpusElleFacts(t *testing.T) {
	dir := corpus.Require(t, "jepsen/elle/histories")
	t.Run("huge-scc", func(t *testing.T) {
		start := time.Now()
		h := readCorpus(t, filepath.Join(dir, "huge-scc.edn"))
		t.Logf("huge-scc.edn: %d events read in %v", len(h.Events), time.Since(start))
		// The README's 20,617 also counts the 15 ":type :can't-..."
		// inside nested nemesis errors; the file holds 20,602 op maps,
		// indexed 0 to 20,601.
		types := map[Type]int{}
		nemesis := 0
		for _, e := range h.Events {
			if e.IsClient() {
				types[e.Type]++
			} else {
				nemesis++
			}
		}
		if len(h.Events) != 20602 || h.Events[20601].Index != 20601 || nemesis != 94 {
			t.Errorf("%d events (%d nemesis), want 20602 (94)", len(h.Events), nemesis)
		}
		if len(h.Ops) != 10254 || types[OK] != 3036 || types[Fail] != 7070 || types[Info] != 148 {
			t.Errorf("%d ops, completions %v; want 10254 ops, 3036 ok, 7070 fail, 148 info", len(h.Ops), types)
		}
		if h.Processes() != 173 {
			t.Errorf("%d processes, want 173", h.Processes())
		}
		want := []any{[]any{"append", int64(11), int64(1)}, []any{"r", int64(11), []any{int64(1)}}, []any{"r", int64(11), []any{int64(1)}}}
		if e := h.Events[2]; !Equal(e.Value, want) || e.Time != 31076248 {
			t.Errorf("event 2 value %s, want %s", Describe(e.Value), Describe(want))
		}
	})
	t.Run("si-without-g-single", func(t *testing.T) {
		h := readCorpus(t, filepath.Join(dir, "si-without-g-single.edn"))
		if len(h.Events) != 8 || len(h.Ops) != 4 || h.Events[0].Index != 10 || h.Events[0].Line != 9 || h.Events[7].Index != 41 {
			t.Errorf("events %+v", h.Events)
		}
		want := []any{[]any{"append", int64(6), int64(2)}, []any{"r", int64(9), []any{int64(2)}}}
		if op := h.Ops[3]; op.F != "txn" || op.Process != 9 || !Equal(op.Output, want) {
			t.Errorf("op 3 = process %v %s %s, want process 9 txn %s", op.Process, op.F, Describe(op.Output), Describe(want))
		}
		if op := h.Ops[1]; !Equal(op.Output, []any{[]any{"append", int64(8), int64(1)}, []any{"r", int64(9), nil}}) {
			t.Errorf("op 1 output %s, want a read of 9 as nil", Describe(op.Output))
		}
	})
	t.Run("cyclic-versions", func(t *testing.T) {
		h := readCorpus(t, filepath.Join(dir, "cyclic-versions.edn"))
		if len(h.Events) != 16 || h.Events[4].Index != 962 || h.Events[4].Time != 1611884988 {
			t.Errorf("events %+v", h.Events)
		}
		if len(h.Ops) != 8 || h.Processes() != 3 {
			t.Errorf("%d ops of %d processes, want 8 of 3", len(h.Ops), h.Processes())
		}
		want := []any{[]any{"w", int64(31), int64(41)}, []any{"r", int64(18), int64(43)}, []any{"w", int64(31), int64(42)}}
		if op := h.Ops[1]; op.F != "txn" || !Equal(op.Output, want) {
			t.Errorf("op 1 = %s %s, want txn %s", op.F, Describe(op.Output), Describe(want))
		}
	})
	// paper-example.edn is Elle's loose form: neither :process nor :f.
	// Its ops are one client's transactions, in file order.
	t.Run("paper-example", func(t *testing.T) {
		h := readCorpus(t, filepath.Join(dir, "paper-example.edn"))
		if len(h.Events) != 8 || len(h.Ops) != 4 || h.Processes() != 1 {
			t.Fatalf("%d events, %d ops of %d processes; want 8, 4 of 1", len(h.Events), len(h.Ops), h.Processes())
		}
		for i, op := range h.Ops {
			if op.F != "txn" || op.Type != OK || op.Process != 0 || op.Invoke != 2*i || op.Complete != 2*i+1 {
				t.Errorf("op %d = %+v, want an ok txn of process 0 from events %d and %d", i, op, 2*i, 2*i+1)
			}
		}
		in := []any{[]any{"append", int64(250), int64(10)}, []any{"r", int64(253), nil}, []any{"r", int64(255), nil}, []any{"append", int64(256), int64(3)}}
		out := []any{[]any{"append", int64(250), int64(10)}, []any{"r", int64(253), []any{int64(1), int64(3), int64(4)}},
			[]any{"r", int64(255), []any{int64(2), int64(3), int64(4), int64(5)}}, []any{"append", int64(256), int64(3)}}
		if op := h.Ops[3]; !Equal(op.Input, in) || !Equal(op.Output, out) {
			t.Errorf("op 3 = %s -> %s, want %s -> %s", Describe(op.Input), Describe(op.Output), Describe(in), Describe(out))
		}
		if e := h.Events[7]; e.Index != 7 || e.Line != 8 {
			t.Errorf("event 7 has index %d, line %d; want 7, 8", e.Index, e.Line)
		}
	})
}

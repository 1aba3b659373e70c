package linearizable

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/history"
	"consist/internal/corpus"
)

// porcupineCase is one line of the Porcupine corpus' expected.tsv.
type porcupineCase struct {
	path string
	// expect is "true", "false", or "none" for the empty etcd_095.log.
	expect string
}

func porcupineCorpus(tb testing.TB) []porcupineCase {
	dir := corpus.Require(tb, "porcupine")
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []porcupineCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 || cols[0] == "file" {
			continue
		}
		cases = append(cases, porcupineCase{filepath.Join(dir, cols[0]), cols[1]})
	}
	if len(cases) != 109 {
		tb.Fatalf("expected.tsv lists %d files, want 109", len(cases))
	}
	return cases
}

func TestPorcupineCorpus(t *testing.T) {
	for _, c := range porcupineCorpus(t) {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			h, err := history.ReadFile(c.path, history.Auto)
			if c.expect == "none" {
				// etcd_095.log is 0 bytes ("etcd cluster failed to start
				// up"): an empty file is bad input, not a history.
				var herr *history.Error
				if !errors.As(err, &herr) || !strings.Contains(herr.Msg, "empty") {
					t.Fatalf("got %v, want the empty-history error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := Check(context.Background(), h, checker.Options{Timeout: time.Minute})
			want := checker.Valid
			if c.expect == "false" {
				want = checker.Invalid
			}
			if res.Verdict != want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, want)
			}
			if want == checker.Invalid && (len(res.Anomalies) == 0 || len(res.Anomalies[0].Ops) == 0) {
				t.Fatalf("invalid without a witness: %+v", res.Anomalies)
			}
		})
	}
}

// TestKnossosCorpus checks every history of Knossos' data folder: good/ is
// linearizable, bad/ is not. Registers start at 0, as in Knossos' own
// tests, and reads of nil follow Knossos' convention (value unknown).
func TestKnossosCorpus(t *testing.T) {
	dir := corpus.Require(t, "jepsen/knossos/data")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*.edn"))
	if err != nil || len(files) < 120 {
		t.Fatalf("found %d Knossos histories (%v), want at least 120", len(files), err)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		t.Run(rel, func(t *testing.T) {
			h, err := history.ReadFile(path, history.Auto)
			if err != nil {
				t.Fatal(err)
			}
			res := Check(context.Background(), h, checker.Options{Initial: int64(0), Timeout: time.Minute})
			want := checker.Valid
			if strings.Contains(rel, "/bad/") {
				want = checker.Invalid
			}
			if res.Verdict != want {
				t.Fatalf("verdict %s (%s), want %s; %+v", res.Verdict, res.Reason, want, res.Anomalies)
			}
		})
	}
}

// TestKnossosFailingOps pins the operation Knossos' own tests report as the
// one that cannot be linearized.
func TestKnossosFailingOps(t *testing.T) {
	dir := corpus.Require(t, "jepsen/knossos/data/cas-register/bad")
	for _, tc := range []struct {
		file    string
		initial any
		failing int64
		says    []string
	}{
		// Knossos: failing op {:process 70 :type :ok :f :read :value 0
		// :index 491}, model state after: register 2.
		{"cas-failure.edn", int64(0), 491, []string{"Process 70's read", "returning 0 (index 491, line 503)", "the register at 2"}},
		// Knossos: failing op {:process 21 :type :ok :f :read :value 2
		// :index 14}.
		{"bad-analysis.edn", int64(0), 14, []string{"Process 21's read (index 14, line 18) returned 2", "stale"}},
		// Knossos (cas-register nil): process 1 read 3 at index 4.
		{"rethink-fail-minimal.edn", nil, 4, []string{"Process 1's read (index 4, line 7) returned 3"}},
		// Knossos (cas-register nil): process 12 read 3 at index 217.
		{"rethink-fail-smaller.edn", nil, 217, []string{"Process 12's read", "returning 3 (index 217, line 332)"}},
		// The write of 3 failed, so the read of 3 at index 3 is impossible.
		{"immediate-failure.edn", int64(0), 3, []string{"returned 3", "failed, so it never took effect"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h, err := history.ReadFile(filepath.Join(dir, tc.file), history.Auto)
			if err != nil {
				t.Fatal(err)
			}
			res := Check(context.Background(), h, checker.Options{Initial: tc.initial, Timeout: time.Minute})
			if res.Verdict != checker.Invalid || len(res.Anomalies) != 1 {
				t.Fatalf("verdict %s with %d anomalies, want invalid with 1", res.Verdict, len(res.Anomalies))
			}
			a := res.Anomalies[0]
			if !slices.Contains(a.Ops, tc.failing) || len(a.Ops) > 4 {
				t.Errorf("witness ops %v: want at most 4, including %d", a.Ops, tc.failing)
			}
			for _, s := range tc.says {
				if !strings.Contains(a.Explanation(), s) {
					t.Errorf("explanation lacks %q: %s", s, a.Explanation())
				}
			}
		})
	}
}

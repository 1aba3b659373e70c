package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"consist/checker"
	"consist/internal/corpus"
	"consist/report"
)

// corpusFile is one reference history and whether it is linearizable.
type corpusFile struct {
	path string
	args []string // flags before the file
	good bool
}

// referenceHistories lists Knossos' cas-register histories (registers
// start at 0, as in Knossos' tests) and Porcupine's logs with the verdict
// Porcupine's tests expect (the empty etcd_095.log left out).
func referenceHistories(t *testing.T) []corpusFile {
	var files []corpusFile
	knossos := corpus.Require(t, "jepsen/knossos/data/cas-register")
	for _, dir := range []string{"good", "bad"} {
		paths, err := filepath.Glob(filepath.Join(knossos, dir, "*.edn"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no Knossos histories in %s (%v)", filepath.Join(knossos, dir), err)
		}
		for _, p := range paths {
			files = append(files, corpusFile{p, []string{"--initial", "0"}, dir == "good"})
		}
	}
	porcupine := corpus.Require(t, "porcupine")
	f, err := os.Open(filepath.Join(porcupine, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 || (cols[1] != "true" && cols[1] != "false") {
			continue // the header, and the empty log
		}
		files = append(files, corpusFile{filepath.Join(porcupine, cols[0]), nil, cols[1] == "true"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

// TestReferenceHistoriesExitCodes is the CI gate of issue 13: a plain
// `consist check` (every model that applies) exits 0 on every good
// Knossos cas-register history and every Porcupine log Porcupine expects
// linearizable, with no verdict invalid or unknown (measures without a
// bound are measurements, and models the lattice settles are implied). On
// the bad ones it exits 1, linearizability broken.
func TestReferenceHistoriesExitCodes(t *testing.T) {
	files := referenceHistories(t)
	good := 0
	for _, f := range files {
		if f.good {
			good++
		}
		name, _ := filepath.Rel(corpus.Dir(), f.path)
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(append([]string{"check", "--json"}, f.args...), f.path)...)
			var frs []report.FileResult
			if err := json.Unmarshal([]byte(out), &frs); err != nil || len(frs) != 1 {
				t.Fatalf("exit %d, output is not one file's JSON results (%v):\n%s%s", code, err, out, errOut)
			}
			byModel := map[checker.Model]checker.Result{}
			for _, r := range frs[0].Results {
				byModel[r.Model] = r
			}
			if f.good {
				if code != exitValid {
					t.Errorf("exit %d, want %d", code, exitValid)
				}
				for _, r := range frs[0].Results {
					if r.Verdict == checker.Invalid || r.Verdict == checker.Unknown {
						t.Errorf("%s %s: %s", r.Model, r.Verdict, r.Reason)
					}
				}
				if r := byModel[checker.Linearizable]; r.Verdict != checker.Valid {
					t.Errorf("linearizable %q, want valid", r.Verdict)
				}
				return
			}
			if code != exitInvalid {
				t.Errorf("exit %d, want %d", code, exitInvalid)
			}
			if r := byModel[checker.Linearizable]; r.Verdict != checker.Invalid {
				t.Errorf("linearizable %q (%s), want invalid", r.Verdict, r.Reason)
			}
		})
	}
	t.Logf("%d reference histories: %d linearizable, %d not", len(files), good, len(files)-good)
}

func TestExitForCountsVerdictsNotMeasurements(t *testing.T) {
	for _, tc := range []struct {
		verdicts []checker.Verdict
		want     int
	}{
		{[]checker.Verdict{checker.Valid, checker.Measured}, exitValid},
		{[]checker.Verdict{checker.Measured}, exitValid},
		{[]checker.Verdict{checker.Measured, checker.Unknown}, exitUnknown},
		{[]checker.Verdict{checker.Unknown, checker.Invalid, checker.Measured}, exitInvalid},
	} {
		fr := report.FileResult{File: "h.jsonl"}
		for _, v := range tc.verdicts {
			fr.Results = append(fr.Results, checker.Result{Verdict: v})
		}
		if got := exitFor(fr); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.verdicts, got, tc.want)
		}
	}
}

// TestMeasurementsDoNotFailACheck: a Knossos-style history whose values
// repeat, with no staleness bound, exits 0, bounded-staleness shown as a
// measurement apart from the verdicts.
func TestMeasurementsDoNotFailACheck(t *testing.T) {
	h := writeFile(t, "repeated.edn", `[{:process 0 :type :invoke :f :write :value 1}
{:process 0 :type :ok :f :write :value 1}
{:process 0 :type :invoke :f :write :value 2}
{:process 0 :type :ok :f :write :value 2}
{:process 0 :type :invoke :f :write :value 1}
{:process 0 :type :ok :f :write :value 1}
{:process 1 :type :invoke :f :read :value nil}
{:process 1 :type :ok :f :read :value 1}]
`)
	code, out, errOut := runCLI(t, "check", "--initial", "0", h)
	if code != exitValid {
		t.Fatalf("exit %d, want %d:\n%s%s", code, exitValid, out, errOut)
	}
	table, measured, ok := strings.Cut(out, "Measured, not judged")
	if !ok || !strings.Contains(measured, "bounded-staleness: the lags were not measured") || strings.Contains(table, "bounded-staleness") {
		t.Errorf("bounded-staleness is not shown as a measurement apart from the verdicts:\n%s", out)
	}
	code, out, _ = runCLI(t, "check", "--initial", "0", "--model", "causal", h)
	if code != exitValid || !strings.Contains(out, "valid, implied because linearizable holds (linearizable was checked too, though not asked): causal") {
		t.Errorf("--model causal: exit %d, want %d, causal valid implied by linearizable:\n%s", code, exitValid, out)
	}
	code, out, _ = runCLI(t, "check", "--initial", "0", "--max-staleness-versions", "1", "--model", "bounded-staleness", h)
	if code != exitValid || !strings.Contains(out, "valid, implied because linearizable holds") {
		t.Errorf("bounded: exit %d, want %d, bounded-staleness valid implied by linearizable:\n%s", code, exitValid, out)
	}
}

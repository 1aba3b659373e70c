package history_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"consist/history"
)

func TestRecorderNumbersAndFlushes(t *testing.T) {
	var out bytes.Buffer
	rec := history.NewRecorder(&out, time.Hour)
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 100 {
				inv := history.Event{Type: history.Invoke, Process: history.Process(p), F: "write", Key: "x", Value: int64(p*1000 + i), HasValue: true}
				if _, err := rec.Record(inv); err != nil {
					t.Error(err)
				}
				inv.Type = history.OK
				if _, err := rec.Record(inv); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if out.Len() != 0 {
		t.Fatalf("wrote %d bytes before a flush with an hour's interval", out.Len())
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "recorded", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 400 {
		t.Fatalf("read back %d operations, want 400", len(h.Ops))
	}
	for i, e := range h.Events {
		if e.Index != int64(i) || (i > 0 && e.Time < h.Events[i-1].Time) {
			t.Fatalf("event %d has index %d and time %d after %d: want indices in order and times monotonic", i, e.Index, e.Time, h.Events[max(i-1, 0)].Time)
		}
	}
}

// recorderChild is set in the child process of TestRecorderSurvivesSIGKILL:
// it records operations into the named file as fast as it can and prints
// the index of each one it has recorded complete.
const recorderChild = "CONSIST_RECORDER_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(recorderChild); path != "" {
		recordForever(path)
		return
	}
	os.Exit(m.Run())
}

func recordForever(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	rec := history.NewRecorder(f, history.DefaultFlushInterval)
	for i := int64(0); ; i++ {
		e := history.Event{Type: history.Invoke, Process: 0, F: "write", Key: "x", Value: i, HasValue: true}
		if _, err := rec.Record(e); err != nil {
			os.Exit(3)
		}
		e.Type = history.OK
		if _, err := rec.Record(e); err != nil {
			os.Exit(3)
		}
		fmt.Println(i) // acknowledged
	}
}

// TestRecorderSurvivesSIGKILL kills a recording process once its
// recorder has flushed on its own (the process never calls Flush or
// Close), and reads what it left: the file must parse, and hold a gapless
// prefix of the operations, each complete but perhaps the last (whose
// completion the kill may have caught unflushed), that takes in every operation
// the parent saw on file before the kill. A kill loses only what was not
// yet flushed. The order of events, not the wall clock, decides: how
// soon a flush follows an operation (one flush interval, or half the
// recorder's ring, whichever comes first) is a matter of the machine's
// speed, not of this test.
func TestRecorderSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), recorderChild+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read acknowledgements, looking at the file every so many, until the
	// file has grown twice while the child runs: its recorder flushed on
	// its own, at least once with operations already acknowledged. Each
	// operation is two lines, its invocation and its completion, in the
	// order of their indices, so the lines on file count the operations
	// complete there.
	var acked, onFile int64 = -1, 0
	growths, size := 0, int64(0)
	lines := bufio.NewScanner(stdout)
	for growths < 2 && lines.Scan() {
		op, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil || op != acked+1 {
			t.Fatalf("child said %q after acknowledging %d", lines.Text(), acked)
		}
		acked = op
		if op%1024 != 0 {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Size() <= size {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		size, growths = fi.Size(), growths+1
		onFile = int64(bytes.Count(data, []byte{'\n'})) / 2
	}
	if growths < 2 {
		t.Fatalf("the child stopped (%v) after acknowledging %d operations, its file never grown twice", lines.Err(), acked+1)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	h, err := history.ReadFile(path, history.Auto)
	if err != nil {
		t.Fatalf("the history a killed run left does not read back: %v", err)
	}
	// The last operation may have lost its completion to the kill (its
	// invocation flushed, its completion not): it then reads as info.
	for i, op := range h.Ops {
		last := i == len(h.Ops)-1
		if op.Input != int64(i) || op.Type != history.OK && !(last && op.Type == history.Info) {
			t.Fatalf("operation %d of %d on file is %s of %v; want the operations in order, each ok (the last may be open), with no gap", i, len(h.Ops), op.Type, op.Input)
		}
	}
	if int64(len(h.Ops)) < onFile {
		t.Fatalf("the file holds %d operations after the kill; %d were on it before", len(h.Ops), onFile)
	}
	t.Logf("%d operations on file before the kill, %d after it; %d acknowledged when the parent looked last", onFile, len(h.Ops), acked+1)
}

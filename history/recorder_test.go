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

// TestRecorderSurvivesSIGKILL kills a recording process and reads what it
// left: the file must parse, and hold every operation acknowledged more
// than one flush interval before the kill.
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
	// Read acknowledgements, each with when it arrived, until the child
	// has run for several flush intervals; then kill it.
	type ack struct {
		op int64
		at time.Time
	}
	var acks []ack
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		op, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child said %q", lines.Text())
		}
		acks = append(acks, ack{op, time.Now()})
		if time.Since(acks[0].at) > 5*history.DefaultFlushInterval {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()

	h, err := history.ReadFile(path, history.Auto)
	if err != nil {
		t.Fatalf("the history a killed run left does not read back: %v", err)
	}
	recorded := map[int64]history.Type{}
	for _, op := range h.Ops {
		recorded[op.Input.(int64)] = op.Type
	}
	// Margin for scheduling: an acknowledgement arrives a little after
	// its event was recorded, and the flusher may run a little late.
	deadline := killed.Add(-2 * history.DefaultFlushInterval)
	checked := 0
	for _, a := range acks {
		if a.at.After(deadline) {
			break
		}
		checked++
		if recorded[a.op] != history.OK {
			t.Fatalf("operation %d was acknowledged %v before the kill but is not recorded ok", a.op, killed.Sub(a.at))
		}
	}
	if checked == 0 {
		t.Fatal("no acknowledgement arrived early enough to check; the child ran too briefly")
	}
	t.Logf("%d acknowledged operations checked, %d recorded in all", checked, len(h.Ops))
}

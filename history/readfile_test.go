package history

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFileRefusesDevicesFromTheirFirstBytes(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(dev); err != nil {
			t.Skip(dev, "is missing")
		}
		// No deadline: the binary check alone must stop the read.
		_, err := ReadFileContext(context.Background(), dev, Auto, Limits{})
		var he *Error
		if !errors.As(err, &he) || !strings.Contains(he.Msg, "binary") || he.File != dev {
			t.Errorf("%s: got %v, want a binary-content *Error naming the file", dev, err)
		}
	}
}

func TestReadFileFIFOIsBoundedByTheContext(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "h.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	// Nobody ever opens it for writing.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ReadFileContext(ctx, fifo, Auto, Limits{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no writer") {
		t.Errorf("FIFO without a writer: got %v, want the deadline and what to do", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v past a 200ms deadline", d)
	}

	// A writer that opens it and never writes nor closes.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(`{"type":"invoke","process":0,"f":"read"}` + "\n"); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = ReadFileContext(ctx2, fifo, Auto, Limits{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FIFO whose writer stalls: got %v, want the deadline", err)
	}
}

func TestReadFileLimitsAndDirectories(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.jsonl")
	line := `{"type":"invoke","process":0,"f":"read"}` + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFileContext(context.Background(), path, Auto, Limits{MaxBytes: int64(len(line))}); err != nil {
		t.Errorf("a history of exactly the limit: %v", err)
	}
	_, err := ReadFileContext(context.Background(), path, Auto, Limits{MaxBytes: 10})
	if err == nil || !strings.Contains(err.Error(), "larger than the 10-byte limit") {
		t.Errorf("a history over the limit: got %v", err)
	}
	_, err = ReadContext(context.Background(), strings.NewReader(line), "stdin", Auto, Limits{MaxBytes: 10})
	if err == nil || !strings.Contains(err.Error(), "larger than the 10-byte limit") {
		t.Errorf("a stream over the limit: got %v", err)
	}
	_, err = ReadFile(dir, Auto)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), filepath.Join(dir, "history.jsonl")) {
		t.Errorf("a directory: got %v, want it to suggest %s", err, filepath.Join(dir, "history.jsonl"))
	}
	if h, err := ReadFile(path, Auto); err != nil || len(h.Ops) != 1 {
		t.Errorf("ReadFile: %v", err)
	}
}

func TestTimeBackwardsAcrossProcessesIsAWarning(t *testing.T) {
	h, err := Parse([]byte(`{"type":"invoke","process":0,"f":"read","time":500}
{"type":"invoke","process":1,"f":"read","time":400}
{"type":"ok","process":1,"f":"read","value":null,"time":600}
{"type":"ok","process":0,"f":"read","value":null,"time":700}
`), "t.jsonl", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "at 1 event(s), by up to 100ns (line 2)") {
		t.Errorf("warnings %q, want one naming line 2 and 100ns", h.Warnings)
	}
}

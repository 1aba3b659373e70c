package history

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// DefaultFlushInterval is how often a Recorder writes what it buffered.
const DefaultFlushInterval = 100 * time.Millisecond

// Recorder appends events to a JSON Lines history as they happen. It is
// safe for concurrent use, and it numbers and timestamps events in the
// order they are recorded, which is their real-time order.
//
// Events are buffered and written in whole lines, one write at a time, at
// least every flush interval and on Flush and Close; so a process killed
// at any moment leaves a file that reads back cleanly and holds every
// event recorded more than one interval before the kill. Invocations left
// without completion read back as crashed (info) operations.
type Recorder struct {
	// mu guards the buffer and the numbering; writing holds it only to
	// take the buffer, and holds writing throughout, so writes keep order.
	mu      sync.Mutex
	writing sync.Mutex
	w       io.Writer
	buf     strings.Builder
	next    int64
	start   time.Time
	err     error

	stop chan struct{}
	done chan struct{}
}

// NewRecorder returns a recorder writing to w, flushing every interval (at
// most DefaultFlushInterval when interval is not positive). Close it.
func NewRecorder(w io.Writer, interval time.Duration) *Recorder {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	r := &Recorder{w: w, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go r.flushEvery(interval)
	return r
}

// Since returns the time elapsed since the recorder started, in the unit
// of Event.Time.
func (r *Recorder) Since() int64 { return int64(time.Since(r.start)) }

// Record appends e, setting its Index to the next position and its Time
// to now, and returns it as recorded. It returns the first write error
// the recorder met, if any: recording stops there.
func (r *Recorder) Record(e Event) (Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return e, r.err
	}
	e.Index, e.Time = r.next, r.Since()
	r.next++
	e.appendJSON(&r.buf)
	r.buf.WriteByte('\n')
	return e, nil
}

// Flush writes every buffered event.
func (r *Recorder) Flush() error {
	r.writing.Lock()
	defer r.writing.Unlock()
	r.mu.Lock()
	lines, err := r.buf.String(), r.err
	r.buf = strings.Builder{}
	r.buf.Grow(len(lines))
	r.mu.Unlock()
	if err != nil || lines == "" {
		return err
	}
	if _, err := io.WriteString(r.w, lines); err != nil {
		err = fmt.Errorf("record history: %w; check the disk the history is written to", err)
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		return err
	}
	return nil
}

func (r *Recorder) flushEvery(interval time.Duration) {
	defer close(r.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			_ = r.Flush() // the error is kept and returned by Record and Close
		}
	}
}

// Close stops the periodic flush and writes what is left. It does not
// close the underlying writer.
func (r *Recorder) Close() error {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	return r.Flush()
}

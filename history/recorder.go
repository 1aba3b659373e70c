package history

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultFlushInterval is how often a Recorder writes what it buffered.
const DefaultFlushInterval = 100 * time.Millisecond

// Sink receives events as they happen; *Recorder is the one that writes
// them to a history file.
type Sink interface {
	// Record takes e, numbers and timestamps it, and returns it as
	// recorded.
	Record(e Event) (Event, error)
}

// Recorder appends events to a JSON Lines history as they happen. It is
// safe for concurrent use, and it numbers and timestamps events in the
// order they are recorded, which is their real-time order.
//
// Record takes no lock: it claims the next number and a slot of a ring,
// and a flusher encodes and writes the slots in order, so recording
// clients neither wait for each other nor encode. An event's value is
// encoded when it is written, and must not change after it is recorded.
// Events are written in whole lines, one write at a time, at least every
// flush interval (sooner when the ring fills) and on Flush and Close; so a
// process killed at any moment leaves a file that holds every event
// recorded more than one interval before the kill and reads back cleanly
// (the kernel may cut the last write short: the readers drop a torn last
// line). Invocations left without completion read back as crashed (info)
// operations.
type Recorder struct {
	ring    []slot
	next    atomic.Int64 // the next event's number
	written atomic.Int64 // events before this number are written, their slots free
	failed  atomic.Pointer[error]
	wake    chan struct{}

	writing  sync.Mutex // held by a flush
	buf      []byte
	lastTime int64
	w        io.Writer
	start    time.Time
	now      func() time.Time // the clock of event times
	// kept holds the events of a recorder made by NewMemoryRecorder,
	// which has no writer.
	kept []Event

	stop chan struct{}
	done chan struct{}
}

// slot holds a recorded event until it is written. seq is the event's
// number plus one once the event is stored: a flush waits for it.
type slot struct {
	seq atomic.Int64
	e   Event
}

// ringSize is the number of events recorded and not yet written that a
// recorder holds; a flush starts whenever half of it fills.
const ringSize = 1 << 15

// NewRecorder returns a recorder writing to w, flushing every interval (at
// most DefaultFlushInterval when interval is not positive). Close it.
func NewRecorder(w io.Writer, interval time.Duration) *Recorder {
	return NewRecorderClock(w, interval, nil)
}

// NewRecorderClock is NewRecorder with event times read from now (nil:
// the wall clock), as a run on virtual time records them. Flushes keep
// wall time: they only move bytes.
func NewRecorderClock(w io.Writer, interval time.Duration, now func() time.Time) *Recorder {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	if now == nil {
		now = time.Now
	}
	r := &Recorder{ring: make([]slot, ringSize), wake: make(chan struct{}, 1), w: w, start: now(), now: now,
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.flushEvery(interval)
	return r
}

// Start is when the recorder started, on its clock: event times count
// from it.
func (r *Recorder) Start() time.Time { return r.start }

// Since returns the time elapsed since the recorder started, in the unit
// of Event.Time.
func (r *Recorder) Since() int64 { return int64(r.now().Sub(r.start)) }

// Record appends e, setting its Index to the next position and its Time
// to now, and returns it as recorded. It returns the first write error
// the recorder met, if any: recording stops there.
func (r *Recorder) Record(e Event) (Event, error) {
	if err := r.failed.Load(); err != nil {
		return e, *err
	}
	n := r.next.Add(1) - 1
	for n-r.written.Load() >= ringSize {
		// The ring is full: wait for the flush under way.
		r.signal()
		runtime.Gosched()
	}
	e.Index, e.Time = n, r.Since()
	s := &r.ring[n%ringSize]
	s.e = e
	s.seq.Store(n + 1)
	if n%(ringSize/2) == ringSize/2-1 {
		r.signal()
	}
	return e, nil
}

func (r *Recorder) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush writes every event recorded before it was called.
func (r *Recorder) Flush() error {
	r.writing.Lock()
	defer r.writing.Unlock()
	if err := r.failed.Load(); err != nil {
		return *err
	}
	end := r.next.Load()
	for n := r.written.Load(); n < end; n++ {
		s := &r.ring[n%ringSize]
		for s.seq.Load() != n+1 {
			runtime.Gosched() // numbered, not yet stored
		}
		// Numbers are taken before times, so two recorders may store
		// times a hair out of order; the file keeps them monotonic.
		s.e.Time = max(s.e.Time, r.lastTime)
		r.lastTime = s.e.Time
		if r.w == nil {
			if err := r.keep(n, s.e); err != nil {
				return err
			}
		} else {
			r.buf = append(s.e.appendJSON(r.buf), '\n')
			if len(r.buf) >= writeSize {
				if err := r.write(); err != nil {
					return err
				}
			}
		}
		r.written.Store(n + 1)
	}
	return r.write()
}

// writeSize is about how much a flush writes at a time: whole lines, a
// buffer's worth.
const writeSize = 256 << 10

// write writes the encoded lines; an error stops recording.
func (r *Recorder) write() error {
	if len(r.buf) == 0 {
		return nil
	}
	_, err := r.w.Write(r.buf)
	r.buf = r.buf[:0]
	if err != nil {
		err = fmt.Errorf("record history: %w; check the disk the history is written to", err)
		r.failed.Store(&err)
		// Free the ring so that recorders waiting on it see the error.
		r.written.Store(1 << 62)
	}
	return err
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
		case <-r.wake:
		}
		_ = r.Flush() // the error is kept and returned by Record and Close
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

package history

import (
	"fmt"
	"io"
	"sync"
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
// Record only numbers, timestamps and queues an event; it is encoded when
// it is written, so its value must not change after it is recorded. Events
// are written in whole lines, one write at a time, at least every flush
// interval and on Flush and Close; so a process killed
// at any moment leaves a file that holds every event recorded more than
// one interval before the kill and reads back cleanly (the kernel may cut
// the last write short: the readers drop a torn last line). Invocations left
// without completion read back as crashed (info) operations.
type Recorder struct {
	// mu guards the queue and the numbering; a flush holds it only to
	// take the queue, and holds writing throughout, so writes keep order.
	mu      sync.Mutex
	queue   [][]Event // chunks of chunkSize events, the last one filling
	free    [][]Event // chunks written, for reuse
	next    int64
	err     error
	writing sync.Mutex
	buf     []byte
	w       io.Writer
	start   time.Time

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
	if n := len(r.queue); n == 0 || len(r.queue[n-1]) == chunkSize {
		r.queue = append(r.queue, r.chunk())
	}
	last := &r.queue[len(r.queue)-1]
	*last = append(*last, e)
	return e, nil
}

// chunkSize is the number of events in a chunk of the queue: the queue
// grows by chunks, so recording never copies what it queued.
const chunkSize = 4096

func (r *Recorder) chunk() []Event {
	if n := len(r.free); n > 0 {
		c := r.free[n-1]
		r.free = r.free[:n-1]
		return c
	}
	return make([]Event, 0, chunkSize)
}

// Flush writes every buffered event.
func (r *Recorder) Flush() error {
	r.writing.Lock()
	defer r.writing.Unlock()
	r.mu.Lock()
	batch, err := r.queue, r.err
	r.queue = nil
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if r.buf == nil {
		r.buf = make([]byte, 0, writeSize+4096)
	}
	for _, chunk := range batch {
		for i := range chunk {
			r.buf = append(chunk[i].appendJSON(r.buf), '\n')
			if len(r.buf) >= writeSize {
				if err := r.write(); err != nil {
					return err
				}
			}
		}
		clear(chunk) // let go of the values
	}
	r.mu.Lock()
	for _, chunk := range batch {
		r.free = append(r.free, chunk[:0])
	}
	r.mu.Unlock()
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
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
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

package history

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// NewMemoryRecorder returns a recorder that keeps its events in memory
// instead of writing them: record from as many goroutines as you like,
// then call History to check what was recorded, with no file and no
// parsing. Keys and values are converted with NormalizeGo when they are
// kept (off the recording goroutines); one that cannot be represented
// stops recording with an error naming the event, returned by Record,
// History and Close. Close it to stop its background flush.
func NewMemoryRecorder() *Recorder {
	return NewRecorder(nil, time.Hour)
}

// keep stores event n of a memory recorder.
func (r *Recorder) keep(n int64, e Event) error {
	key, kerr := NormalizeGo(e.Key)
	v, verr := NormalizeGo(e.Value)
	var err error
	switch {
	case kerr != nil:
		err = fmt.Errorf("key: %w", kerr)
	case verr != nil:
		err = fmt.Errorf("value: %w", verr)
	}
	if err == nil {
		switch key.(type) {
		case nil, string, int64:
		default:
			err = fmt.Errorf("key %s is neither a string nor an integer", Describe(key))
		}
	}
	if err != nil {
		err = fmt.Errorf("record history: event %d (%s %s of process %v): %w; record keys as strings or integers and values as numbers, strings, bools, slices, maps or structs of those", n, e.Type, e.F, e.Process, err)
		r.failed.Store(&err)
		r.written.Store(1 << 62) // free the ring, as write does
		return err
	}
	e.Key, e.Value = key, v
	if v != nil {
		e.HasValue = true
	}
	r.kept = append(r.kept, e)
	return nil
}

// History returns the history of every event recorded so far by a
// recorder made by NewMemoryRecorder, paired and validated as New does
// (an error names the event by its Index). Recording may go on after it;
// each call returns a history of its own.
func (r *Recorder) History() (*History, error) {
	if r.w != nil {
		return nil, errors.New("History is for a recorder made by NewMemoryRecorder; read what a NewRecorder wrote with ReadFile")
	}
	if err := r.Flush(); err != nil {
		return nil, err
	}
	r.writing.Lock()
	events := slices.Clone(r.kept)
	r.writing.Unlock()
	return inMemory("memory", events)
}

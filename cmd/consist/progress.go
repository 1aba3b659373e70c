package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"consist/checker"
)

// progressDelay is how long a check runs before its progress is shown.
const progressDelay = time.Second

// progressLine shows a long check's progress on a terminal: one line on
// standard error, rewritten in place (file, model, the checker's step,
// elapsed time), from the first second on, erased when the check ends.
type progressLine struct {
	w     io.Writer
	file  string
	start time.Time
	mu    sync.Mutex
	step  checker.Step
	done  chan struct{}
	wg    sync.WaitGroup
}

// Report keeps the latest step; it implements checker.Progress.
func (p *progressLine) Report(s checker.Step) {
	p.mu.Lock()
	p.step = s
	p.mu.Unlock()
}

// startProgress returns ctx carrying a progress line for file when w is a
// terminal, and a function that ends it. Elsewhere (a file, a pipe, a
// test's buffer) it shows nothing.
func startProgress(ctx context.Context, w io.Writer, file string) (context.Context, func()) {
	if !isTerminal(w) {
		return ctx, func() {}
	}
	p := &progressLine{w: w, file: file, start: time.Now(), done: make(chan struct{})}
	p.wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-p.done:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-tick.C:
				elapsed := now.Sub(p.start)
				if elapsed < progressDelay {
					continue
				}
				p.mu.Lock()
				s := p.step
				p.mu.Unlock()
				fmt.Fprint(w, "\r\033[K"+progressText(p.file, s, elapsed))
				shown = true
			}
		}
	})
	return checker.WithProgress(ctx, p), func() {
		close(p.done)
		p.wg.Wait()
	}
}

// progressText renders one progress line, e.g. "checking h.jsonl:
// linearizable, key 2 of 5, 3.2s".
func progressText(file string, s checker.Step, elapsed time.Duration) string {
	line := "checking " + file
	if s.Model != "" {
		line += ": " + string(s.Model)
		if s.Total > 0 {
			line += fmt.Sprintf(", %s %d of %d", s.Unit, s.Done, s.Total)
		}
	}
	return line + fmt.Sprintf(", %.1fs", elapsed.Seconds())
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"consist/nemesis"
	"consist/workloads/runner"
)

// status shows a run's progress on standard error: a line rewritten in
// place on a terminal; otherwise a plain line every few seconds and
// whenever a fault starts or heals.
type status struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startStatus(w io.Writer, counts *runner.Counts, nem *nemesis.Nemesis, start time.Time) *status {
	s := &status{done: make(chan struct{})}
	tty := isTerminal(w)
	const every, plainEvery = 250 * time.Millisecond, 5 * time.Second
	s.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		var last int64
		lastAt := start
		lastFault := ""
		for {
			select {
			case <-s.done:
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-tick.C:
				fault := nem.Active()
				changed := fault != lastFault
				lastFault = fault
				if !tty && !changed && now.Sub(lastAt) < plainEvery {
					continue
				}
				total := counts.Total()
				rate := float64(total-last) / now.Sub(lastAt).Seconds()
				last, lastAt = total, now
				switch {
				case fault == "":
					fault = "none"
				case tty && len(fault) > 48:
					fault = fault[:45] + "..." // one line, however long the fault's description
				}
				line := fmt.Sprintf("%6.1fs  %7.0f ops/s  ok %d  fail %d  info %d  fault: %s",
					now.Sub(start).Seconds(), rate, counts.OK.Load(), counts.Fail.Load(), counts.Info.Load(), fault)
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	})
	return s
}

func (s *status) stop() {
	close(s.done)
	s.wg.Wait()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

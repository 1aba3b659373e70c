package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"consist/checker"
	"consist/checker/bank"
	"consist/checker/convergence"
	"consist/checker/counter"
	"consist/checker/set"
	"consist/checker/staleness"
	"consist/history"
)

// DetailsText renders what a checker found beside its verdict
// (checker.Result.Details) for a person: a line, or for bounded
// staleness a small table. ok is false for details it has no text for
// (or none). Strings from the history are escaped (checker.Escape).
func DetailsText(details any) (text string, ok bool) {
	switch d := details.(type) {
	case *bank.Details:
		return bankText(d), d != nil
	case *convergence.Details:
		return convergenceText(d), d != nil
	case *counter.Details:
		return counterText(d), d != nil
	case *set.Details:
		return setText(d), d != nil
	case *staleness.Details:
		return stalenessText(d), d != nil
	}
	return "", false
}

func bankText(d *bank.Details) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf("%s of %s totalling %d judged: %d with the wrong accounts, %d with the wrong total, %d with a negative balance",
		count(d.Reads, "read"), count(d.Accounts, "account"), d.Total, d.WrongAccounts, d.WrongTotal, d.NegativeBalance)
}

func convergenceText(d *convergence.Details) string {
	if d == nil {
		return ""
	}
	s := fmt.Sprintf("%d of %d keys judged on %d final reads, %d diverged", d.Judged, d.Keys, d.FinalReads, d.Diverged)
	if n := len(d.Unjudged); n > 0 {
		var names []string
		for _, k := range d.Unjudged[:min(n, 5)] {
			names = append(names, checker.Escape(checker.KeyName(k)))
		}
		s += "; no final read of " + strings.Join(names, ", ")
		if n > 5 {
			s += fmt.Sprintf(" and %d more", n-5)
		}
	}
	return s
}

func counterText(d *counter.Details) string {
	if d == nil {
		return ""
	}
	s := fmt.Sprintf("%s of %s judged, %d out of bounds", count(d.Reads, "read"), count(d.Counters, "counter"), d.OutOfBounds)
	if d.MaxError > 0 {
		s += fmt.Sprintf(" (by up to %d)", d.MaxError)
	}
	return s
}

func setText(d *set.Details) string {
	if d == nil {
		return ""
	}
	s := fmt.Sprintf("%s added to %s: %d stable, %d lost, %d never read, %d unexpected; %d stale",
		count(d.Attempted, "element"), count(d.Sets, "set"), d.Stable, d.Lost, d.NeverRead, d.Unexpected, d.Stale)
	if len(d.WorstStale) > 0 {
		w := d.WorstStale[0]
		name := "the set"
		if w.Key != nil {
			name = "set " + checker.Escape(history.Describe(w.Key))
		}
		s += fmt.Sprintf(", the worst element %s of %s, missed by the read at index %d begun after it was known at index %d",
			checker.Escape(history.Describe(w.Element)), name, w.Missed, w.Known)
		if w.Delay > 0 {
			s += fmt.Sprintf(" (%v later)", w.Delay)
		}
	}
	return s
}

// maxStaleKeys is the most keys the staleness table lists.
const maxStaleKeys = 10

// stalenessText renders the lags as a small table: overall first, then
// the stalest keys (at most maxStaleKeys).
func stalenessText(d *staleness.Details) string {
	if d == nil {
		return ""
	}
	if d.Overall.Reads == 0 {
		s := "no ok read to measure"
		if d.Unmeasured > 0 {
			s += fmt.Sprintf(" (%d reads not measured: nil under Knossos' convention, or values no write wrote)", d.Unmeasured)
		}
		return s
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "key\treads\tstale\tversions p50/p99/max")
	if d.Timed {
		fmt.Fprint(tw, "\ttime p50/p99/max")
	}
	fmt.Fprintln(tw)
	row := func(name string, l staleness.Lags) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d/%d", name, l.Reads, l.Stale, l.Versions.P50, l.Versions.P99, l.Versions.Max)
		if d.Timed && l.Time != nil {
			fmt.Fprintf(tw, "\t%v/%v/%v", roundLag(l.Time.P50), roundLag(l.Time.P99), roundLag(l.Time.Max))
		}
		fmt.Fprintln(tw)
	}
	row("all", d.Overall)
	keys := StalestKeys(d)
	if len(keys) > 1 || len(keys) == 1 && keys[0].Key != nil {
		for _, k := range keys[:min(len(keys), maxStaleKeys)] {
			row(lagKeyName(k.Key), k.Lags)
		}
	}
	tw.Flush()
	if len(keys) > maxStaleKeys {
		fmt.Fprintf(&b, "(%d more keys, less stale)\n", len(keys)-maxStaleKeys)
	}
	if d.Unmeasured > 0 {
		fmt.Fprintf(&b, "%d reads not measured (nil under Knossos' convention, or values no write wrote)\n", d.Unmeasured)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// StalestKeys returns d's keys stalest first: by the most versions behind,
// then the 99th percentile of versions, then the longest time behind.
func StalestKeys(d *staleness.Details) []staleness.KeyLags {
	keys := slices.Clone(d.Keys)
	slices.SortStableFunc(keys, func(a, b staleness.KeyLags) int {
		if c := cmp.Compare(b.Versions.Max, a.Versions.Max); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Versions.P99, a.Versions.P99); c != 0 {
			return c
		}
		if a.Time != nil && b.Time != nil {
			return cmp.Compare(b.Time.Max, a.Time.Max)
		}
		return 0
	})
	return keys
}

// lagKeyName names a key in the staleness table's first column.
func lagKeyName(k any) string {
	if k == nil {
		return "register"
	}
	if s, ok := k.(string); ok {
		return checker.Escape(s)
	}
	return checker.Escape(history.Describe(k))
}

// roundLag rounds d to about four significant digits, for reading.
func roundLag(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// count writes n and unit, plural when n is not 1: "1 read", "2 reads".
func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

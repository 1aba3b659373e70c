package checker

import "context"

// Step is how far a long check has come: the model, and the unit of work
// in hand out of all of them ("key" 2 of 5, say). Checkers report steps
// through the context; they never print.
type Step struct {
	// Model is the model being checked.
	Model Model
	// Unit names what is counted, in the singular: "key", "placed operation".
	Unit string
	// Done is the number of the unit in hand, from 1; Total is how many
	// there are.
	Done, Total int
}

// Progress receives the steps of long checks, e.g. to show them on a
// terminal. Report is called from the checkers' goroutines, possibly
// several at once, and must return quickly.
type Progress interface {
	Report(Step)
}

type progressKey struct{}

// WithProgress returns a context that carries p to the checkers run with
// it.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// ReportProgress hands s to the Progress ctx carries, if any. It is cheap
// when there is none; checkers call it where their work advances.
func ReportProgress(ctx context.Context, s Step) {
	if p, ok := ctx.Value(progressKey{}).(Progress); ok && p != nil {
		p.Report(s)
	}
}

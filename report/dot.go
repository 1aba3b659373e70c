package report

import (
	"fmt"
	"strings"

	"consist/checker"
	"consist/checker/txn"
	"consist/history"
)

// CycleDOT draws a transactional cycle anomaly (txn.IsCycle) as a Graphviz digraph: one node per
// transaction (T1…Tn, with its process and index), one edge per step
// labelled with its relation, the last back to the first. It is empty
// for an anomaly that is not a cycle.
func CycleDOT(a checker.Anomaly) string {
	if !txn.IsCycle(a.Kind) || len(a.Steps) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  label=%q;\n  node [shape=box, fontname=\"monospace\"];\n", string(a.Kind), string(a.Kind)+": "+a.Kind.Description())
	n := len(a.Steps)
	for i, s := range a.Steps {
		fmt.Fprintf(&b, "  T%d [label=%q];\n", i+1, fmt.Sprintf("T%d: process %v, index %d\n%s", i+1, s.Process, s.Index, clip(checker.Escape(history.Canonical(s.Value)), 80)))
	}
	for i, s := range a.Steps {
		fmt.Fprintf(&b, "  T%d -> T%d [label=%q];\n", i+1, (i+1)%n+1, string(s.Rel))
	}
	b.WriteString("}\n")
	return b.String()
}

// clip cuts s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

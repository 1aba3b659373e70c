package matrix_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/matrix"
)

// widest is the matrix of every bundled store at its widest: each store
// judged on every model its kinds of object allow (transactional models
// only for the stores that take transactions), every model broken with
// three-digit anomaly counts, and strict-serializable disagreeing with the
// profile everywhere it is checked.
func widest() *matrix.Matrix {
	m := &matrix.Matrix{}
	for _, model := range checker.Models() {
		if model != checker.BoundedStaleness {
			m.Models = append(m.Models, model)
		}
	}
	txn := map[checker.Model]bool{checker.StrictSerializable: true}
	for _, model := range checker.Weaker(checker.StrictSerializable) {
		txn[model] = !checker.Implies(checker.Linearizable, model)
	}
	for _, s := range builtin.Stores() {
		r := matrix.Row{Store: s.Name, Marks: map[checker.Model]matrix.Mark{}}
		for _, model := range m.Models {
			if txn[model] && !s.CanHold(adapters.Txn) || !txn[model] && !singleObjects(s) {
				continue
			}
			mk := matrix.Mark{Verdict: checker.Invalid, Anomalies: 999}
			if model == checker.StrictSerializable {
				mk.Disagrees = "strict-serializable is guaranteed, but it broke"
			}
			r.Marks[model] = mk
		}
		m.Rows = append(m.Rows, r)
	}
	return m
}

// singleObjects reports whether s keeps objects other than transactions.
func singleObjects(s builtin.Store) bool {
	return s.Holds == nil || slices.ContainsFunc(s.Holds, func(k adapters.Kind) bool { return k != adapters.Txn })
}

// TestTextFitsTerminal draws the widest matrix of the bundled stores and
// asserts that no line passes 120 columns, that it is split into its
// tables with only the stores that belong in each, and that every
// abbreviated header is spelled out.
func TestTextFitsTerminal(t *testing.T) {
	m := widest()
	var out bytes.Buffer
	if err := m.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for i, l := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(l); n > 120 {
			t.Errorf("line %d is %d columns wide, want ≤ 120: %q", i+1, n, l)
		}
	}
	tables := map[string]string{}
	var title string
	for _, block := range strings.Split(text, "\n\n") {
		title, _, _ = strings.Cut(block, "\n")
		tables[title] = block
	}
	single, txn, inv := tables["Single-object models"], tables["Transactional models"], tables["Invariants (workload-specific checks)"]
	if single == "" || txn == "" || inv == "" {
		t.Fatalf("want three tables (single-object, transactional, invariants):\n%s", text)
	}
	rowOf := func(table, store string) bool {
		for l := range strings.Lines(table) {
			if strings.HasPrefix(l, store+" ") {
				return true
			}
		}
		return false
	}
	for _, s := range builtin.Stores() {
		if got, want := rowOf(txn, s.Name), s.CanHold(adapters.Txn); got != want {
			t.Errorf("store %s in the transactional table: %v, want %v", s.Name, got, want)
		}
		if got, want := rowOf(single, s.Name), singleObjects(s); got != want {
			t.Errorf("store %s in the single-object table: %v, want %v", s.Name, got, want)
		}
	}
	for _, want := range []string{"S-SER: strict-serializable", "SS-SI: strong-session-snapshot-isolation", "RU: read-uncommitted", "MAV: monotonic-atomic-view"} {
		if !strings.Contains(txn, want) {
			t.Errorf("the transactional legend lacks %q:\n%s", want, txn)
		}
	}
	for _, want := range []string{"lin: linearizable", "WFR: writes-follow-reads", "CC: causal-convergence"} {
		if !strings.Contains(single, want) {
			t.Errorf("the single-object legend lacks %q:\n%s", want, single)
		}
	}
	if strings.Contains(single, "S-SER") || strings.Contains(txn, "lin ") || strings.Contains(txn, "counter") {
		t.Errorf("a model in the wrong table:\n%s", text)
	}
	if !strings.Contains(txn, "✗ 999 !") || !strings.Contains(text, "disagreements with the profiles") {
		t.Errorf("the disagreements are not marked:\n%s", text)
	}
	t.Log("\n" + text)
}

// TestMarkdownTables asserts that the Markdown has the same tables, each
// row as wide as its header.
func TestMarkdownTables(t *testing.T) {
	var out bytes.Buffer
	if err := widest().WriteMarkdown(&out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{"**Single-object models**", "**Transactional models**", "**Invariants (workload-specific checks)**",
		"| store | S-SER | SS-SER |", "| mvcc-snapshot-isolation | ✗ 999 ! |", "S-SER: strict-serializable"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	cols := 0
	for l := range strings.Lines(md) {
		switch {
		case !strings.HasPrefix(l, "|"):
			cols = 0
		case cols == 0:
			cols = strings.Count(l, "|")
		case strings.Count(l, "|") != cols:
			t.Errorf("row %q has %d cells' bars, its header %d", l, strings.Count(l, "|"), cols)
		}
	}
}

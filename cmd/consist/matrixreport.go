package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/matrix"
	"consist/report"
)

// writeMatrixReports writes the matrix's --junit and --markdown reports:
// a report per run of each store; in the JUnit XML a model fails only
// where its verdict disagrees with the store's profile (a guaranteed
// model broken, a break the profile expects not shown), and the Markdown
// is the matrix's table followed by each run's verdicts and anomalies.
func writeMatrixReports(stdout io.Writer, fl reportFlags, m *matrix.Matrix, stores []builtin.Store) error {
	if fl.junit == "" && fl.markdown == "" {
		return nil
	}
	if stores == nil {
		stores = builtin.Stores()
	}
	profiles := map[string]builtin.Profile{}
	for _, s := range stores {
		profiles[s.Name] = s.Profile
	}
	marks := map[string]map[checker.Model]matrix.Mark{}
	for _, row := range m.Rows {
		marks[row.Store] = row.Marks
	}
	var reports []report.Report
	cells := map[string]matrix.Cell{} // by report title, one per cell
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			rep := cellReport(c)
			reports = append(reports, rep)
			cells[rep.Title] = c
		}
	}
	junit := report.JUnitOptions{Name: "consist matrix", Expect: func(rep *report.Report, _ *report.FileResult, model checker.Model) report.Expectation {
		p := profiles[rep.Run.Store]
		switch {
		case p.Guaranteed(model):
			return report.ExpectHolds
		case slices.ContainsFunc(p.Expected(model), func(r builtin.Run) bool { return r.String() == cells[rep.Title].Run.String() }):
			// A seed that does not show the break fails only when the
			// mark disagrees: in simulation, the seed the profile names
			// for it; on the wall clock, where any seed counts, every
			// seed (none showed it).
			mk := marks[rep.Run.Store][model]
			if mk.Disagrees == "" || !m.RealTime && mk.Seed != 0 && rep.Run.Seed != mk.Seed {
				return report.ExpectNothing
			}
			return report.ExpectBreaks
		}
		return report.ExpectNothing
	}}
	markdown := func(w io.Writer) error {
		var b bytes.Buffer
		if err := m.WriteMarkdown(&b); err != nil {
			return err
		}
		// Each run's verdicts, folded, the runs that disagree with the
		// profile first, while the comment stays within what a pull
		// request takes; the rest are named.
		slices.SortStableFunc(reports, func(a, b report.Report) int {
			return cmpBool(disagrees(m, cells[b.Title]), disagrees(m, cells[a.Title]))
		})
		var left []string
		for _, rep := range reports {
			var part bytes.Buffer
			fmt.Fprintf(&part, "\n<details><summary>%s: %d anomalies</summary>\n\n", report.MarkdownEscape(rep.Title), anomalyCount(rep))
			title := rep.Title
			rep.Title = ""
			if err := report.WriteMarkdown(&part, rep, report.MarkdownOptions{MaxAnomalies: 3}); err != nil {
				return err
			}
			part.WriteString("</details>\n")
			if b.Len()+part.Len() > maxMatrixMarkdown {
				left = append(left, report.MarkdownEscape(title))
				continue
			}
			b.Write(part.Bytes())
		}
		if len(left) > 0 {
			b.WriteString("\nNot shown, to keep this short (consist matrix --json has them all): ")
			for i, name := range left {
				if b.Len()+len(name) > maxMatrixMarkdown+4000 {
					fmt.Fprintf(&b, "and %d more", len(left)-i)
					break
				}
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(name)
			}
			b.WriteString("\n")
		}
		_, err := w.Write(b.Bytes())
		return err
	}
	return fl.write(stdout, reports, junit, markdown)
}

// maxMatrixMarkdown bounds the matrix's Markdown below the 65,536
// characters GitHub takes in a comment.
const maxMatrixMarkdown = 60000

// disagrees tells whether the run of cell c has a verdict the matrix
// marks as disagreeing with the store's profile.
func disagrees(m *matrix.Matrix, c matrix.Cell) bool {
	for _, d := range m.Disagreements() {
		if strings.HasPrefix(d, c.Store+": ") && strings.Contains(d, c.Name) {
			return true
		}
	}
	return false
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// cellReport is the report of one run of the matrix.
func cellReport(c matrix.Cell) report.Report {
	faults := make([]string, len(c.Run.Faults))
	for i, f := range c.Run.Faults {
		faults[i] = string(f)
	}
	name := fmt.Sprintf("%s: %s, seed %d", c.Store, c.Name, c.Seed)
	return report.Report{
		Title: name,
		Run:   &report.RunSettings{Store: c.Store, Workload: c.Run.Workload, Faults: faults, Seed: c.Seed, OK: c.OK, Fail: c.Fail, Info: c.Info, Command: c.Command},
		Files: []report.FileResult{{File: name, Format: "jsonl", Ops: int(c.OK + c.Fail + c.Info), Results: c.Results, Error: c.Err}},
	}
}

func anomalyCount(rep report.Report) int {
	n := 0
	for _, f := range rep.Files {
		for _, r := range f.Results {
			n += len(r.Anomalies)
		}
	}
	return n
}

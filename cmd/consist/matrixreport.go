package main

import (
	"fmt"
	"io"
	"slices"

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
	var reports []report.Report
	runs := map[string]builtin.Run{} // by report title, one per cell
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			rep := cellReport(c)
			reports = append(reports, rep)
			runs[rep.Title] = c.Run
		}
	}
	junit := report.JUnitOptions{Name: "consist matrix", Expect: func(rep *report.Report, _ *report.FileResult, model checker.Model) report.Expectation {
		p := profiles[rep.Run.Store]
		switch {
		case p.Guaranteed(model):
			return report.ExpectHolds
		case slices.ContainsFunc(p.Expected(model), func(r builtin.Run) bool { return r.String() == runs[rep.Title].String() }):
			return report.ExpectBreaks
		}
		return report.ExpectNothing
	}}
	markdown := func(w io.Writer) error {
		if err := m.WriteMarkdown(w); err != nil {
			return err
		}
		for _, rep := range reports {
			summary := fmt.Sprintf("%s: %d anomalies", report.MarkdownEscape(rep.Title), anomalyCount(rep))
			if _, err := fmt.Fprintf(w, "\n<details><summary>%s</summary>\n\n", summary); err != nil {
				return err
			}
			rep.Title = ""
			if err := report.WriteMarkdown(w, rep); err != nil {
				return err
			}
			if _, err := io.WriteString(w, "</details>\n"); err != nil {
				return err
			}
		}
		return nil
	}
	return fl.write(stdout, reports, junit, markdown)
}

// cellReport is the report of one run of the matrix.
func cellReport(c matrix.Cell) report.Report {
	faults := make([]string, len(c.Run.Faults))
	for i, f := range c.Run.Faults {
		faults[i] = string(f)
	}
	name := c.Store + ": " + c.Name
	return report.Report{
		Title: name,
		Run:   &report.RunSettings{Store: c.Store, Workload: c.Run.Workload, Faults: faults, OK: c.OK, Fail: c.Fail, Info: c.Info},
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

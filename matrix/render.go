package matrix

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"consist/checker"
)

// Symbol renders a mark: ✓ valid, ✗ and the anomaly count for invalid
// (no count when the lattice implied it),
// ? unknown, · not checked; a mark that disagrees with the profile ends
// in "!".
func (mk Mark) Symbol(checked bool) string {
	var s string
	switch {
	case !checked:
		return "·"
	case mk.Verdict == checker.Valid:
		s = "✓"
	case mk.Verdict == checker.Invalid && mk.Anomalies > 0:
		s = "✗ " + strconv.Itoa(mk.Anomalies)
	case mk.Verdict == checker.Invalid:
		s = "✗" // implied by a weaker model's anomalies
	default:
		s = "?"
	}
	if mk.Disagrees != "" {
		s += " !"
	}
	return s
}

func (m *Matrix) cells() (header []string, rows [][]string) {
	header = append(header, "store")
	for _, model := range m.Models {
		header = append(header, string(model))
	}
	for _, r := range m.Rows {
		row := []string{r.Store}
		for _, model := range m.Models {
			mk, ok := r.Marks[model]
			row = append(row, mk.Symbol(ok))
		}
		rows = append(rows, row)
	}
	return header, rows
}

const legend = "✓ holds · ✗ n: broken, with n anomalies (✗ alone: implied by a weaker model's) · ? unknown · · not checked · ! disagrees with the store's profile"

// WriteText writes the matrix as a table, the legend, and every
// disagreement.
func (m *Matrix) WriteText(w io.Writer) error {
	header, rows := m.cells()
	table := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	table.Header(header)
	if err := table.Bulk(rows); err != nil {
		return fmt.Errorf("render the matrix: %w", err)
	}
	if err := table.Render(); err != nil {
		return fmt.Errorf("render the matrix: %w", err)
	}
	_, err := io.WriteString(w, legend+"\n"+m.disagreementText())
	return err
}

// WriteMarkdown writes the matrix as a Markdown table, the legend, and
// every disagreement.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	header, rows := m.cells()
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	b.WriteString("\n" + legend + "\n" + m.disagreementText())
	_, err := io.WriteString(w, b.String())
	return err
}

func (m *Matrix) disagreementText() string {
	d := m.Disagreements()
	if len(d) == 0 {
		return m.seedText() + "Every store behaved as its profile says.\n"
	}
	return m.seedText() + fmt.Sprintf("%d disagreements with the profiles:\n- %s\n", len(d), strings.Join(d, "\n- "))
}

// seedText says, for each expected break, under how many of the seeds
// tried it showed and which replay it; nothing when one seed was tried.
func (m *Matrix) seedText() string {
	var b strings.Builder
	for _, r := range m.Rows {
		for _, model := range m.Models {
			mk, ok := r.Marks[model]
			if !ok || mk.Expected != "breaks" || mk.Seeds < 2 {
				continue
			}
			seeds := make([]string, len(mk.BrokenSeeds))
			for i, s := range mk.BrokenSeeds {
				seeds[i] = fmt.Sprint(s)
			}
			fmt.Fprintf(&b, "- %s: %s broke under %d of %d seeds (%s)\n", r.Store, model, len(mk.BrokenSeeds), mk.Seeds, strings.Join(seeds, ", "))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "The expected breaks, by seed (consist run --seed N replays one):\n" + b.String()
}

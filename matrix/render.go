package matrix

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
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

// The matrix is drawn as three tables rather than one row per store with
// a column per model (28 columns, far wider than a terminal): single-object
// models, transactional models and invariants. A store appears in a table
// only if one of its runs was judged on that table's models, so the
// transactional table holds only the stores that take transactions. Rows
// stay stores, columns models strongest first, so a row reads left to
// right down the lattice to where ✓ begins, as in one table; headers are
// abbreviated, with a legend under each table.
type section struct {
	title  string
	models []checker.Model
	rows   []Row
}

// A kind of model: which table it goes in.
const (
	singleObject = iota
	transactional
	invariant
)

func kindOf(m checker.Model) int {
	switch {
	case checker.Implies(checker.Linearizable, m):
		return singleObject
	case checker.Implies(checker.StrictSerializable, m):
		return transactional
	default:
		return invariant
	}
}

var sectionTitles = [...]string{
	singleObject:  "Single-object models",
	transactional: "Transactional models",
	invariant:     "Invariants (workload-specific checks)",
}

// abbrev are the column headers of the models whose names are too long
// for a column; every table's legend spells out the ones it uses.
var abbrev = map[checker.Model]string{
	checker.Linearizable:      "lin",
	checker.Sequential:        "seq",
	checker.CausalConvergence: "CC",
	checker.WeakCausal:        "WCC",
	checker.WritesFollowReads: "WFR",
	checker.ReadYourWrites:    "RYW",
	checker.MonotonicReads:    "MR",
	checker.MonotonicWrites:   "MW",

	checker.StrictSerializable:             "S-SER",
	checker.StrongSessionSerializable:      "SS-SER",
	checker.StrongSnapshotIsolation:        "S-SI",
	checker.Serializable:                   "SER",
	checker.StrongSessionSnapshotIsolation: "SS-SI",
	checker.SnapshotIsolation:              "SI",
	checker.UpdateSerializable:             "U-SER",
	checker.RepeatableRead:                 "RR",
	checker.ConsistentView:                 "CV",
	checker.CursorStability:                "CS",
	checker.MonotonicAtomicView:            "MAV",
	checker.ReadCommitted:                  "RC",
	checker.ReadUncommitted:                "RU",
}

func header(m checker.Model) string {
	if a, ok := abbrev[m]; ok {
		return a
	}
	return string(m)
}

// sections splits the matrix into its tables, leaving out empty ones.
func (m *Matrix) sections() []section {
	var out []section
	for kind := range len(sectionTitles) {
		s := section{title: sectionTitles[kind]}
		for _, model := range m.Models {
			if kindOf(model) == kind {
				s.models = append(s.models, model)
			}
		}
		for _, r := range m.Rows {
			if slices.ContainsFunc(s.models, func(model checker.Model) bool { _, ok := r.Marks[model]; return ok }) {
				s.rows = append(s.rows, r)
			}
		}
		if len(s.models) > 0 && len(s.rows) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (s section) cells() (head []string, rows [][]string) {
	head = append(head, "store")
	for _, model := range s.models {
		head = append(head, header(model))
	}
	for _, r := range s.rows {
		row := []string{r.Store}
		for _, model := range s.models {
			mk, ok := r.Marks[model]
			row = append(row, mk.Symbol(ok))
		}
		rows = append(rows, row)
	}
	return head, rows
}

// legend spells out the abbreviated headers, as "lin: linearizable".
func (s section) legend() []string {
	var out []string
	for _, model := range s.models {
		if a, ok := abbrev[model]; ok {
			out = append(out, a+": "+string(model))
		}
	}
	return out
}

const legend = "✓ holds · ✗ n: broken, with n anomalies (✗ alone: implied by a weaker model's) · ? unknown · · not checked · ! disagrees with the store's profile"

// legendWidth is where the text legends wrap.
const legendWidth = 100

// wrap joins items with " · ", starting a new line before one would pass
// width columns.
func wrap(items []string, width int) string {
	var b strings.Builder
	line := 0
	for i, it := range items {
		n := len([]rune(it))
		switch {
		case i == 0:
		case line+3+n > width:
			b.WriteString(" ·\n")
			line = 0
		default:
			b.WriteString(" · ")
			line += 3
		}
		b.WriteString(it)
		line += n
	}
	return b.String()
}

// WriteText writes the matrix as its tables (single-object models,
// transactional models, invariants), each with a legend of its
// abbreviations, then the legend of the marks and every disagreement.
// Each table fits in 120 columns for the bundled stores.
func (m *Matrix) WriteText(w io.Writer) error {
	for _, s := range m.sections() {
		head, rows := s.cells()
		var b strings.Builder
		table := tablewriter.NewTable(&b,
			tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
				Borders: tw.BorderNone,
				Settings: tw.Settings{
					Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
					Lines:      tw.Lines{ShowHeaderLine: tw.On},
				},
			})),
			tablewriter.WithPadding(tw.Padding{Left: tw.Empty, Right: "  ", Overwrite: true}),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithRowAlignment(tw.AlignLeft))
		table.Header(head)
		if err := table.Bulk(rows); err != nil {
			return fmt.Errorf("render the matrix: %w", err)
		}
		if err := table.Render(); err != nil {
			return fmt.Errorf("render the matrix: %w", err)
		}
		// The table pads its last column and rule; trim both to the
		// widest line.
		var lines []string
		width := 0
		for l := range strings.Lines(b.String()) {
			l = strings.TrimRight(l, " \n")
			lines = append(lines, l)
			if !strings.HasPrefix(l, "─") {
				width = max(width, utf8.RuneCountInString(l))
			}
		}
		text := s.title + "\n"
		for _, l := range lines {
			if strings.HasPrefix(l, "─") {
				l = strings.Repeat("─", width)
			}
			text += l + "\n"
		}
		if l := s.legend(); len(l) > 0 {
			text += wrap(l, legendWidth) + "\n"
		}
		if _, err := io.WriteString(w, text+"\n"); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, wrap(strings.Split(legend, " · "), legendWidth)+"\n"+m.disagreementText())
	return err
}

// WriteMarkdown writes the matrix as Markdown tables, as WriteText does,
// the legends, and every disagreement.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, s := range m.sections() {
		head, rows := s.cells()
		b.WriteString("**" + s.title + "**\n\n")
		line(head)
		sep := make([]string, len(head))
		for i := range sep {
			sep[i] = "---"
		}
		line(sep)
		for _, r := range rows {
			line(r)
		}
		if l := s.legend(); len(l) > 0 {
			b.WriteString("\n" + strings.Join(l, " · ") + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(legend + "\n" + m.disagreementText())
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

// seedText says, for each break the profile names, under how many of
// the seeds tried it showed and which, and names every model the profile
// has not seen broken that a seed broke.
func (m *Matrix) seedText() string {
	var claimed, found strings.Builder
	for _, r := range m.Rows {
		for _, model := range m.Models {
			mk, ok := r.Marks[model]
			switch {
			case !ok || len(mk.BrokenSeeds) == 0:
			case mk.Seed != 0 && mk.Seeds > 1:
				fmt.Fprintf(&claimed, "- %s: %s broke under %d of %d seeds (%s; the profile's: %d)\n", r.Store, model, len(mk.BrokenSeeds), mk.Seeds, joinSeeds(mk.BrokenSeeds), mk.Seed)
			case mk.Expected == "unseen":
				fmt.Fprintf(&found, "- %s: %s broke under seeds %s, and the profile has not seen it break: claim it with one of them\n", r.Store, model, joinSeeds(mk.BrokenSeeds))
			}
		}
	}
	var out string
	if claimed.Len() > 0 {
		out = "The breaks the profiles name, by seed (a stronger model breaks with a weaker one; --json has each run's command):\n" + claimed.String()
	}
	if found.Len() > 0 {
		out += "Breaks the profiles have not seen (--json has the command that replays each run):\n" + found.String()
	}
	return out
}

func joinSeeds(seeds []uint64) string {
	s := make([]string, len(seeds))
	for i, v := range seeds {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

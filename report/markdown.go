package report

import (
	"fmt"
	"io"
	"strings"

	"consist/checker"
)

// MaxMarkdownAnomalies is the most anomalies WriteMarkdown shows per file
// unless told otherwise; it counts the rest, so a comment stays within
// what a pull request shows (GitHub takes 65,536 characters).
const MaxMarkdownAnomalies = 10

// MarkdownOptions shape WriteMarkdown's output.
type MarkdownOptions struct {
	// MaxAnomalies is the most anomalies shown per file (0:
	// MaxMarkdownAnomalies).
	MaxAnomalies int
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown for a
// pull-request comment: per file (per run), a heading, the run's
// settings, the verdict table, the strongest models that hold and the
// weakest that break, every anomaly with its sentence (up to
// opts.MaxAnomalies), and the reasons of unknown verdicts.
//
// Nothing from a history is read as Markdown or HTML: every string is
// escaped (MarkdownEscape), so a value cannot open a tag, a link, an
// image, a table cell or a heading, nor mention a person.
func WriteMarkdown(w io.Writer, rep Report, opts MarkdownOptions) error {
	if opts.MaxAnomalies <= 0 {
		opts.MaxAnomalies = MaxMarkdownAnomalies
	}
	var b strings.Builder
	if rep.Title != "" {
		fmt.Fprintf(&b, "## consist: %s\n\n", MarkdownEscape(rep.Title))
	}
	if r := rep.Run; r != nil {
		fmt.Fprintf(&b, "**Store** %s · **workload** %s · **faults** %s",
			MarkdownEscape(r.Store), MarkdownEscape(r.Workload), MarkdownEscape(faultList(r.Faults)))
		if r.Clients > 0 {
			fmt.Fprintf(&b, " · %d clients · seed %d", r.Clients, r.Seed)
		}
		if r.Elapsed != "" {
			fmt.Fprintf(&b, " · %s", MarkdownEscape(r.Elapsed))
		}
		fmt.Fprintf(&b, " · %d ok, %d fail, %d info\n\n", r.OK, r.Fail, r.Info)
	}
	for i := range rep.Files {
		f := &rep.Files[i]
		writeFileMarkdown(&b, f, len(rep.Files) > 1, rep.Title != f.File, opts)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write Markdown: %w", err)
	}
	return nil
}

// writeFileMarkdown writes one file's part; heading, whether to name the
// file in a heading of its own, and named, whether to name it at all
// (not when the report's title does).
func writeFileMarkdown(b *strings.Builder, f *FileResult, heading, named bool, opts MarkdownOptions) {
	name := MarkdownEscape(f.File)
	if heading {
		fmt.Fprintf(b, "### %s\n\n", name)
	}
	if f.Error != "" {
		fmt.Fprintf(b, "**Error:** %s\n\n", MarkdownEscape(f.Error))
		return
	}
	if named && !heading {
		fmt.Fprintf(b, "**File** %s: ", name)
	}
	fmt.Fprintf(b, "%s, %d operations", MarkdownEscape(f.Format), f.Ops)
	if f.Processes > 0 {
		fmt.Fprintf(b, ", %d processes", f.Processes)
	}
	b.WriteString("\n\n")
	for _, warning := range f.Warnings {
		fmt.Fprintf(b, "> **Warning:** %s\n\n", MarkdownEscape(warning))
	}
	verdicts, measures := splitMeasures(f.Results)
	if len(verdicts) > 0 {
		b.WriteString("| Model | Verdict | Anomalies | Time |\n| --- | --- | ---: | ---: |\n")
		for _, r := range verdicts {
			verdict := verdictMark(r.Verdict) + " " + string(r.Verdict)
			if r.ImpliedBy != "" {
				verdict += " (implied by " + string(r.ImpliedBy) + ")"
			}
			fmt.Fprintf(b, "| %s | %s | %d | %s |\n", r.Model, verdict, len(r.Anomalies), roundDuration(r.Stats.Duration))
		}
		b.WriteString("\n")
	}
	if holds, breaks := checker.Summarize(verdicts); len(holds)+len(breaks) > 0 && len(verdicts) > 1 {
		fmt.Fprintf(b, "Strongest models that hold: **%s**", modelList(holds))
		if len(breaks) > 0 {
			fmt.Fprintf(b, "; weakest that break: **%s**", modelList(breaks))
		}
		b.WriteString("\n\n")
	}
	groups := groupAnomalies(f.Results)
	if len(groups) > 0 {
		fmt.Fprintf(b, "#### Anomalies (%d)\n\n", len(groups))
	}
	for i, g := range groups {
		if i == opts.MaxAnomalies {
			fmt.Fprintf(b, "- … and %d more: run consist check on the history to see them all\n", len(groups)-i)
			break
		}
		a := g.anomaly
		fmt.Fprintf(b, "- **%s** (%s)", MarkdownEscape(string(a.Kind)), MarkdownEscape(modelList(g.models)))
		if a.Key != nil {
			fmt.Fprintf(b, " on %s", MarkdownEscape(checker.KeyName(a.Key)))
		}
		fmt.Fprintf(b, ", %s %s: %s", plural(len(a.Ops), "operation"), MarkdownEscape(opList(a)), a.Render(MarkdownEscape))
		if rules := boundaryText(a.Kind); rules != "" {
			fmt.Fprintf(b, " *%s*", MarkdownEscape(rules))
		}
		b.WriteString("\n")
	}
	if len(groups) > 0 {
		b.WriteString("\n")
	}
	var unknown []string
	for _, r := range verdicts {
		if r.Verdict == checker.Unknown && r.ImpliedBy == "" && r.Reason != "" {
			unknown = append(unknown, fmt.Sprintf("- **%s** unknown: %s\n", r.Model, MarkdownEscape(r.Reason)))
		}
	}
	if len(unknown) > 0 {
		b.WriteString("#### Undecided\n\n" + strings.Join(unknown, "") + "\n")
	}
	if len(measures) > 0 {
		b.WriteString("<details><summary>Measured, not judged</summary>\n\n")
		for _, r := range measures {
			fmt.Fprintf(b, "- **%s**", r.Model)
			if r.Reason != "" {
				fmt.Fprintf(b, ": %s", MarkdownEscape(r.Reason))
			}
			b.WriteString("\n")
			if text, ok := DetailsText(r.Details); ok {
				// A code block shows the table as it is; its fence is
				// longer than any run of backticks inside, so nothing
				// ends it early.
				fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
				fmt.Fprintf(b, "\n  %s\n  %s\n  %s\n", fence, strings.ReplaceAll(text, "\n", "\n  "), fence)
			}
		}
		b.WriteString("\n</details>\n\n")
	}
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// verdictMark is a verdict's symbol in the table.
func verdictMark(v checker.Verdict) string {
	switch v {
	case checker.Valid:
		return "✅"
	case checker.Invalid:
		return "❌"
	case checker.Unknown:
		return "❔"
	}
	return "·"
}

// wordJoiner is an invisible character that keeps the characters around
// it from being read together: after @ or #, it stops a mention or an
// issue reference.
const wordJoiner = "\u2060"

// MarkdownEscape makes text safe to put into Markdown, inline or in a
// table cell: HTML's <, > and & become character references, so no tag
// opens; the punctuation Markdown reads inline (* _ ` [ ] ( ) ! | ~ \ $
// { }, and : and . which start autolinks) is backslash-escaped, so no
// emphasis, link, image, code span, math, autolink or table cell starts
// or ends (the text never starts a line, so a heading or list cannot
// start either); @ and # are followed by a word joiner, so no person is
// mentioned and no issue referenced; and control characters are escaped
// as checker.Escape does, so nothing starts a new line.
func MarkdownEscape(s string) string {
	s = checker.Escape(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '@' || r == '#':
			b.WriteString(`\` + string(r) + wordJoiner)
		case r < 0x80 && strings.ContainsRune("*_`[]()!|~\\${}:.", r):
			b.WriteString(`\` + string(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

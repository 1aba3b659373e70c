package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"consist/checker"
)

// Expectation is what is expected of a model's verdict in a report's
// JUnit test case.
type Expectation int

const (
	// ExpectHolds: the model should hold, so an invalid verdict is a
	// failure. The default, as for consist check and consist run.
	ExpectHolds Expectation = iota
	// ExpectBreaks: the model should break (a store's profile says it
	// does in this run), so an invalid verdict passes and any other
	// fails.
	ExpectBreaks
	// ExpectNothing: nothing is promised, so every decided verdict passes
	// and what was found is told in the case's output.
	ExpectNothing
)

// JUnitOptions shape WriteJUnit's output.
type JUnitOptions struct {
	// Name names the whole set of suites ("consist check", say).
	Name string
	// Expect, when not nil, says what is expected of model in file f of
	// rep; without it every model is expected to hold.
	Expect func(rep *Report, f *FileResult, model checker.Model) Expectation
}

// The JUnit XML elements, in the form Jenkins' JUnit and xUnit plugins,
// GitLab, and GitHub's test-report actions read (report/testdata holds
// the schema a test validates the output against).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr,omitempty"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string           `xml:"name,attr"`
		Tests      int              `xml:"tests,attr"`
		Failures   int              `xml:"failures,attr"`
		Errors     int              `xml:"errors,attr"`
		Skipped    int              `xml:"skipped,attr"`
		Time       string           `xml:"time,attr"`
		Timestamp  string           `xml:"timestamp,attr,omitempty"`
		File       string           `xml:"file,attr,omitempty"`
		Properties *junitProperties `xml:"properties,omitempty"`
		Cases      []junitCase      `xml:"testcase"`
		SystemOut  string           `xml:"system-out,omitempty"`
	}
	junitProperties struct {
		Props []junitProperty `xml:"property"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		ClassName string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitOutcome `xml:"failure,omitempty"`
		Error     *junitOutcome `xml:"error,omitempty"`
		Skipped   *junitOutcome `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitOutcome struct {
		Message string `xml:"message,attr,omitempty"`
		Type    string `xml:"type,attr,omitempty"`
		Body    string `xml:",chardata"`
	}
)

// WriteJUnit writes the reports as JUnit XML, for CI systems: a test
// suite per checked file (per run), a test case per model in it, named
// by the model, its class naming the file, or the run's store and
// workload (stable from one run to the next, so CI systems can follow a
// model's history).
//
// An invalid verdict is a failure whose message counts the anomalies and
// whose text holds every anomaly with its sentence (a verdict implied by
// a weaker model's break carries that model's anomalies). An unknown
// verdict is skipped, with its reason as the message: the check did not
// decide, which is what CI systems show skipped tests as — apart from the
// failures, counted, with the reason beside them — and not an error,
// which they present as the test itself breaking. (consist still exits 2
// on unknown, so the job does not pass unnoticed.) A measurement passes,
// what it measured in its output. A file that could not be read is one
// test case, "read", in error. Expect changes what fails (consist matrix
// expects some models to break).
func WriteJUnit(w io.Writer, reports []Report, opts JUnitOptions) error {
	out := junitSuites{Name: opts.Name}
	var total time.Duration
	for i := range reports {
		rep := &reports[i]
		for j := range rep.Files {
			f := &rep.Files[j]
			s := junitSuiteOf(rep, f, opts)
			out.Tests += s.Tests
			out.Failures += s.Failures
			out.Errors += s.Errors
			for _, r := range f.Results {
				total += r.Stats.Duration
			}
			out.Suites = append(out.Suites, s)
		}
	}
	out.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	return nil
}

// junitSuiteOf is the test suite of one checked file.
func junitSuiteOf(rep *Report, f *FileResult, opts JUnitOptions) junitSuite {
	s := junitSuite{Name: suiteName(rep, f), File: checker.Escape(f.File)}
	class := className(rep, f)
	if rep.Run != nil {
		s.Properties = runProperties(rep.Run)
		if !rep.Run.Started.IsZero() {
			s.Timestamp = rep.Run.Started.UTC().Format("2006-01-02T15:04:05")
		}
	}
	var total time.Duration
	if f.Error != "" {
		s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "read", Time: seconds(0),
			Error: &junitOutcome{Message: oneLine(f.Error), Type: "bad-input", Body: checker.Escape(f.Error)}})
	}
	byModel := map[checker.Model]checker.Result{}
	for _, r := range f.Results {
		byModel[r.Model] = r
	}
	for _, r := range f.Results {
		total += r.Stats.Duration
		expect := ExpectHolds
		if opts.Expect != nil {
			expect = opts.Expect(rep, f, r.Model)
		}
		s.Cases = append(s.Cases, junitCaseOf(class, r, byModel, expect))
	}
	var notes []string
	for _, warning := range f.Warnings {
		notes = append(notes, "warning: "+checker.Escape(warning))
	}
	if f.TornLine > 0 {
		notes = append(notes, fmt.Sprintf("line %d is incomplete, as a run killed mid-write leaves it, and was dropped", f.TornLine))
	}
	if f.Error == "" {
		notes = append(notes, fmt.Sprintf("%s (%s, %d operations, %d processes)", checker.Escape(f.File), checker.Escape(f.Format), f.Ops, f.Processes))
	}
	s.SystemOut = strings.Join(notes, "\n")
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	s.Time = seconds(total)
	return s
}

// junitCaseOf is the test case of one model's result.
func junitCaseOf(class string, r checker.Result, byModel map[checker.Model]checker.Result, expect Expectation) junitCase {
	c := junitCase{ClassName: class, Name: string(r.Model), Time: seconds(r.Stats.Duration)}
	var out []string
	if text, ok := DetailsText(r.Details); ok {
		out = append(out, text)
	}
	found := anomalyText(r, byModel)
	switch {
	case r.Verdict == checker.Measured:
		if r.Reason != "" {
			out = append([]string{"measured, not judged: " + checker.Escape(r.Reason)}, out...)
		}
	case r.Verdict == checker.Unknown && expect != ExpectBreaks:
		c.Skipped = &junitOutcome{Message: "unknown: " + oneLine(r.Reason), Type: "unknown", Body: checker.Escape(r.Reason)}
	case r.Verdict == checker.Invalid && expect == ExpectHolds:
		c.Failure = &junitOutcome{Message: invalidMessage(r), Type: "invalid", Body: found}
	case r.Verdict == checker.Invalid:
		how := "broke, as expected"
		if expect == ExpectNothing {
			how = "broke, which nothing promised it would not"
		}
		out = append(out, string(r.Model)+" "+how+": "+invalidMessage(r), found)
	case expect == ExpectBreaks:
		msg := fmt.Sprintf("%s should break in this run, but was %s", r.Model, r.Verdict)
		if r.Reason != "" {
			msg += ": " + checker.Escape(r.Reason)
		}
		c.Failure = &junitOutcome{Message: oneLine(msg), Type: "expected-invalid", Body: msg}
	case r.Reason != "":
		out = append(out, checker.Escape(r.Reason))
	}
	c.SystemOut = strings.TrimSpace(strings.Join(out, "\n"))
	return c
}

// invalidMessage says in a line why r is invalid: how many anomalies,
// the first one's kind, or the model whose break implies it.
func invalidMessage(r checker.Result) string {
	if r.ImpliedBy != "" && len(r.Anomalies) == 0 {
		return fmt.Sprintf("%s does not hold, as %s does not", r.Model, r.ImpliedBy)
	}
	unit := "anomalies"
	if len(r.Anomalies) == 1 {
		unit = "anomaly"
	}
	msg := fmt.Sprintf("%s does not hold: %d %s", r.Model, len(r.Anomalies), unit)
	if len(r.Anomalies) > 0 {
		a := r.Anomalies[0]
		msg += ", the first " + string(a.Kind)
		if a.Key != nil {
			msg += " on " + checker.Escape(checker.KeyName(a.Key))
		}
	}
	return msg
}

// maxJUnitAnomalies is the most anomalies a failure's text lists.
const maxJUnitAnomalies = 50

// anomalyText lists r's anomalies, each with its operations and its
// sentence; for a verdict implied by another model's break, that model's.
func anomalyText(r checker.Result, byModel map[checker.Model]checker.Result) string {
	var b strings.Builder
	if r.Reason != "" {
		fmt.Fprintf(&b, "%s\n", checker.Escape(r.Reason))
	}
	anomalies := r.Anomalies
	if len(anomalies) == 0 && r.ImpliedBy != "" {
		anomalies = byModel[r.ImpliedBy].Anomalies
		if len(anomalies) > 0 {
			fmt.Fprintf(&b, "%s's anomalies:\n", r.ImpliedBy)
		}
	}
	for i, a := range anomalies {
		if i == maxJUnitAnomalies {
			fmt.Fprintf(&b, "… and %d more: consist check --json on the history lists them all\n", len(anomalies)-i)
			break
		}
		b.WriteString(string(a.Kind))
		if a.Key != nil {
			fmt.Fprintf(&b, " on %s", checker.Escape(checker.KeyName(a.Key)))
		}
		fmt.Fprintf(&b, ", %s %s\n  %s\n", plural(len(a.Ops), "operation"), opList(a), a.Explanation())
		if rules := boundaryText(a.Kind); rules != "" {
			fmt.Fprintf(&b, "  %s\n", rules)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// runProperties are a run's settings as JUnit properties.
func runProperties(r *RunSettings) *junitProperties {
	p := &junitProperties{}
	add := func(name, value string) {
		if value != "" {
			p.Props = append(p.Props, junitProperty{Name: name, Value: checker.Escape(value)})
		}
	}
	add("store", r.Store)
	add("workload", r.Workload)
	add("faults", faultList(r.Faults))
	add("clients", strconv.Itoa(r.Clients))
	add("seed", strconv.FormatUint(r.Seed, 10))
	add("version", r.Version)
	add("command", strings.Join(r.Command, " "))
	return p
}

// suiteName names a file's test suite: the report's title for a run,
// else the file.
func suiteName(rep *Report, f *FileResult) string {
	if rep.Run != nil && rep.Title != "" && len(rep.Files) == 1 {
		return checker.Escape(rep.Title)
	}
	return checker.Escape(f.File)
}

// className is the class of a file's test cases: consist.STORE.WORKLOAD
// for a run (with its faults), consist.FILE for a file; dots inside a
// part become underscores, as CI systems split classes at dots.
func className(rep *Report, f *FileResult) string {
	if r := rep.Run; r != nil {
		label := r.Workload
		if len(r.Faults) > 0 {
			label += " under " + strings.Join(r.Faults, ",")
		}
		return "consist." + undot(r.Store) + "." + undot(label)
	}
	return "consist." + undot(f.File)
}

func undot(s string) string { return strings.ReplaceAll(checker.Escape(s), ".", "_") }

// faultList names the faults, or "none".
func faultList(faults []string) string {
	if len(faults) == 0 {
		return "none"
	}
	return strings.Join(faults, ", ")
}

// oneLine is s escaped on one line, cut to a length a CI system's list
// of failures shows whole.
func oneLine(s string) string {
	s = checker.Escape(s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:299]) + "…"
	}
	return s
}

// seconds writes d in seconds with three decimals, as JUnit times are.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

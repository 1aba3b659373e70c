package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"consist/report"
	"consist/run/folder"
)

// reportFlags are the report files check, run and matrix can write beside
// their output.
type reportFlags struct {
	junit, markdown string
}

func addReportFlags(f *pflag.FlagSet, fl *reportFlags) {
	f.StringVar(&fl.junit, "junit", "", "also write the verdicts as JUnit XML to this file, for CI (- for standard output): a test case per model, failures holding the anomalies")
	f.StringVar(&fl.markdown, "markdown", "", "also write the verdict table and the anomalies as Markdown to this file, for a pull-request comment (- for standard output)")
}

// validate refuses two reports on standard output, and a report on
// standard output beside the command's own.
func (fl reportFlags) validate(jsonOut bool) error {
	if fl.junit == "-" && fl.markdown == "-" {
		return usageError("--junit - and --markdown -: only one can go to standard output; give the other a file")
	}
	if jsonOut && (fl.junit == "-" || fl.markdown == "-") {
		return usageError("--json prints on standard output: give --junit or --markdown a file")
	}
	return nil
}

// toStdout tells whether a report replaces the command's own output.
func (fl reportFlags) toStdout() bool { return fl.junit == "-" || fl.markdown == "-" }

// write writes the reports the flags ask for; junit, the options of the
// JUnit XML (its name, what each model is expected to do), and markdown,
// the Markdown renderer (one report's, or the matrix's).
func (fl reportFlags) write(stdout io.Writer, reports []report.Report, junit report.JUnitOptions, markdown func(io.Writer) error) error {
	if fl.junit != "" {
		if err := writeReportFile(stdout, fl.junit, "--junit", func(w io.Writer) error { return report.WriteJUnit(w, reports, junit) }); err != nil {
			return err
		}
	}
	if fl.markdown != "" {
		if markdown == nil {
			markdown = func(w io.Writer) error {
				for i, rep := range reports {
					if i > 0 {
						if _, err := io.WriteString(w, "\n"); err != nil {
							return err
						}
					}
					if err := report.WriteMarkdown(w, rep, report.MarkdownOptions{}); err != nil {
						return err
					}
				}
				return nil
			}
		}
		if err := writeReportFile(stdout, fl.markdown, "--markdown", markdown); err != nil {
			return err
		}
	}
	return nil
}

// writeReportFile renders into memory and writes the file whole (or to
// stdout for -), so a failed rendering leaves no half-written file.
func writeReportFile(stdout io.Writer, path, flag string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if path == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: write the report: %w", flag, err)
	}
	return nil
}

// runTitle names a run in its report: its store and workload, and when it
// started, as report.New does.
func runTitle(rec folder.RunRecord) string {
	return report.New(nil, nil, &rec).Title
}

// checkTitle names what consist check checked.
func checkTitle(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return fmt.Sprintf("%d histories", len(args))
}

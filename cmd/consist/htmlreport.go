package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"consist/checker"
	"consist/history"
	"consist/report"
	reporthtml "consist/report/html"
	"consist/run/folder"
)

// writeHTMLReport writes the report as dir/report.html and returns its
// path.
func writeHTMLReport(dir string, r report.Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the report folder: %w", err)
	}
	var buf bytes.Buffer
	if err := reporthtml.Write(&buf, r); err != nil {
		return "", err
	}
	path := filepath.Join(dir, folder.ReportFile)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write the HTML report: %w", err)
	}
	return path, nil
}

// checkReport gathers what check read into one report: the results of
// every file, the first file's history for the drawings, and the run's
// settings when the first file is a run folder's.
func checkReport(files []report.FileResult, h *history.History, run *folder.RunRecord) report.Report {
	r := report.Report{Files: files, History: h}
	switch len(files) {
	case 1:
		r.Title = files[0].File
	default:
		r.Title = fmt.Sprintf("%d histories", len(files))
	}
	if run != nil {
		r.Run = runSettings(*run)
		r.Title = run.Store + " " + run.Workload + ", " + run.Started.UTC().Format("2006-01-02 15:04:05")
	}
	return r
}

// runSettings are the settings of the run rec records, for its report.
func runSettings(rec folder.RunRecord) *report.RunSettings {
	s := &report.RunSettings{Store: rec.Store, Workload: rec.Workload, Clients: rec.Clients, Seed: rec.Seed,
		Models: append([]checker.Model(nil), rec.Models...), Command: rec.Command, Version: rec.Version,
		Started: rec.Started, Elapsed: rec.Elapsed, OK: rec.OK, Fail: rec.Fail, Info: rec.Info}
	for _, f := range strings.Split(rec.Nemesis, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "none" {
			s.Faults = append(s.Faults, f)
		}
	}
	return s
}

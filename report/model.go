package report

import (
	"fmt"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
	"consist/run/folder"
)

// Report is the one input every renderer draws from: a run (its settings
// and what it found) or one or more checked history files. Text, JSON,
// Markdown, JUnit XML and HTML are all rendered from it.
type Report struct {
	// Title names what was checked: the run ("paxos-register, 2026-12-05
	// 10:00:00") or the file.
	Title string `json:"title"`
	// Run holds the run's settings; nil for a history file checked on its
	// own.
	Run *RunSettings `json:"run,omitempty"`
	// Files are the checked histories and their results: one for a run.
	Files []FileResult `json:"files"`
	// History is the history of Files[0], kept for the drawings that need
	// every operation (timeline, latency and rate plots, linearizability
	// witnesses); nil when it was not kept.
	History *history.History `json:"-"`
}

// RunSettings are the settings of a run a person needs to read its
// report: what was tested, how, and for how long.
type RunSettings struct {
	Store    string `json:"store"`
	Workload string `json:"workload"`
	// Faults are the nemesis's kinds of fault; empty for none.
	Faults  []string `json:"faults,omitempty"`
	Clients int      `json:"clients"`
	Seed    uint64   `json:"seed"`
	// Models are the models asked for; empty for every applicable one.
	Models []checker.Model `json:"models,omitempty"`
	// Command repeats the run.
	Command []string `json:"command,omitempty"`
	// Version is consist's version that made the run.
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	Elapsed string    `json:"elapsed,omitempty"`
	// OK, Fail and Info count the operations by outcome.
	OK, Fail, Info int64
}

// New gathers what was checked into one report: the results of every
// file, the first file's history for the drawings (nil when not kept),
// and the run's settings when the first file is a run folder's (rec,
// else nil).
func New(files []FileResult, h *history.History, rec *folder.RunRecord) Report {
	r := Report{Files: files, History: h}
	switch len(files) {
	case 1:
		r.Title = files[0].File
	default:
		r.Title = fmt.Sprintf("%d histories", len(files))
	}
	if rec != nil {
		r.Run = SettingsOf(*rec)
		r.Title = rec.Store + " " + rec.Workload + ", " + rec.Started.UTC().Format("2006-01-02 15:04:05")
	}
	return r
}

// SettingsOf returns the settings run.json records, for a report.
func SettingsOf(rec folder.RunRecord) *RunSettings {
	s := &RunSettings{Store: rec.Store, Workload: rec.Workload, Clients: rec.Clients, Seed: rec.Seed,
		Models: append([]checker.Model(nil), rec.Models...), Command: rec.Command, Version: rec.Version,
		Started: rec.Started, Elapsed: rec.Elapsed, OK: rec.OK, Fail: rec.Fail, Info: rec.Info}
	for _, f := range strings.Split(rec.Nemesis, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "none" {
			s.Faults = append(s.Faults, f)
		}
	}
	return s
}

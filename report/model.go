package report

import (
	"time"

	"consist/checker"
	"consist/history"
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

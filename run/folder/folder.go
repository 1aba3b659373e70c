// Package folder is the schema of a run folder, the record a run leaves
// under store/<store>-<workload>/<start time>/: run.json (RunRecord, the
// run's settings, written when it starts and again when it ends),
// history.jsonl (every event, flushed as it happens) and results.json
// (the verdicts); store/latest points at the newest run. consist run
// writes it through package run; consist check and recommend read it.
package folder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"consist/checker"
	"consist/history"
)

// The files of a run folder.
const (
	RunFile     = "run.json"
	ResultsFile = "results.json"
	HistoryFile = "history.jsonl"
	// ReportFile is the self-contained HTML report (report/html).
	ReportFile = "report.html"
	// PlanFile holds the faults of a run given an explicit nemesis plan
	// (consist run --nemesis-plan), in the plan's file form.
	PlanFile = "nemesis-plan.json"
	// Latest is the link, in the store folder, to the newest run.
	Latest = "latest"
)

// TimeLayout names a run's folder after its start time, in UTC.
const TimeLayout = "20060102T150405.000Z"

// Create makes storeDir/<test>/<start time>/ and points storeDir/latest
// at it, and returns the folder's path.
func Create(storeDir, test string, start time.Time) (string, error) {
	dir := filepath.Join(storeDir, test, start.UTC().Format(TimeLayout))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create the run folder: %w", err)
	}
	latest := filepath.Join(storeDir, Latest)
	rel, err := filepath.Rel(storeDir, dir)
	if err != nil {
		return "", fmt.Errorf("point %s at the run: %w", latest, err)
	}
	_ = os.Remove(latest)
	if err := os.Symlink(rel, latest); err != nil {
		return "", fmt.Errorf("point %s at the run: %w", latest, err)
	}
	return dir, nil
}

// WriteJSON writes v, indented, to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RunRecord is what run.json records of a run: every setting needed to
// repeat it and to check its history again. consist run writes it when
// the run starts, and again with the counts when it ends, so a run that
// was killed still has one (with Ended unset).
type RunRecord struct {
	// Version is the version of consist that made the run.
	Version string `json:"version,omitempty"`
	// Command repeats the run: consist run with every flag spelled out.
	Command []string `json:"command,omitempty"`
	// Flags holds the value of every flag of consist run, given or
	// defaulted, by name.
	Flags map[string]string `json:"flags,omitempty"`
	// Store names the bundled store, or the real database (Target).
	Store string `json:"store"`
	// Target: Store is a real database, at Nodes (never with credentials).
	Target   bool     `json:"target,omitempty"`
	Nodes    []string `json:"nodes,omitempty"`
	Cluster  string   `json:"cluster,omitempty"`
	Workload string   `json:"workload"`
	Nemesis  string   `json:"nemesis"`
	Clients  int      `json:"clients"`
	Keys     int      `json:"keys"`
	Rate     float64  `json:"rate"`
	Seed     uint64   `json:"seed"`
	// Models are the models the run's history is checked against; empty,
	// every model that applies.
	Models []checker.Model `json:"models,omitempty"`
	// Initial is the value every object holds before its first write, as
	// the checks assume it (null: never written).
	Initial any `json:"initial"`
	// WFRKeys: the transactional checks assume writes follow reads on
	// each key (the workload asks it; see workloads.Assumer).
	WFRKeys bool `json:"wfr_keys,omitempty"`
	// Started is when the run began; Ended, when it ended (unset if it was
	// killed).
	Started     time.Time  `json:"started"`
	Ended       *time.Time `json:"ended,omitempty"`
	Elapsed     string     `json:"elapsed,omitempty"`
	Interrupted bool       `json:"interrupted,omitempty"`
	OK          int64      `json:"ok"`
	Fail        int64      `json:"fail"`
	Info        int64      `json:"info"`
	// Simulation is set when the run was a deterministic simulation
	// (a bundled store): the same settings and seed replay it exactly.
	// Started, Ended and Elapsed are then wall-clock times; the history's
	// are virtual.
	Simulation *Simulation `json:"simulation,omitempty"`
	// NemesisPlan names the file of the run folder (PlanFile) holding
	// the exact faults the nemesis was given, when it was given a plan
	// rather than drawing faults at random; Command names it too.
	NemesisPlan string `json:"nemesis_plan,omitempty"`
	// ShrunkFrom is the run folder this run was shrunk from (consist
	// shrink), if it was.
	ShrunkFrom string `json:"shrunk_from,omitempty"`
}

// Simulation describes a simulated run's virtual time.
type Simulation struct {
	// Epoch is the virtual time the run started at: the history's times
	// count from it.
	Epoch time.Time `json:"epoch"`
	// Elapsed is the virtual time the run took.
	Elapsed string `json:"elapsed,omitempty"`
}

// maxFolderFile bounds what the readers accept: a run.json or results.json
// is kilobytes; anything far larger is not one.
const maxFolderFile = 64 << 20

// ParseRunRecord reads a run.json. name labels it in errors.
func ParseRunRecord(data []byte, name string) (RunRecord, error) {
	var r RunRecord
	if err := decodeStrictly(data, &r); err != nil {
		return RunRecord{}, fmt.Errorf("%s is not a run record: %w (give the run.json consist run wrote)", name, err)
	}
	switch {
	case r.Store == "":
		return RunRecord{}, fmt.Errorf("%s names no store: give the run.json consist run wrote", name)
	case r.Workload == "":
		return RunRecord{}, fmt.Errorf("%s names no workload: give the run.json consist run wrote", name)
	case r.Clients < 0 || r.Keys < 0 || r.OK < 0 || r.Fail < 0 || r.Info < 0:
		return RunRecord{}, fmt.Errorf("%s holds a negative count: give the run.json consist run wrote", name)
	case r.NemesisPlan != "" && (r.NemesisPlan != filepath.Base(r.NemesisPlan) || r.NemesisPlan == ".." || r.NemesisPlan == "."):
		return RunRecord{}, fmt.Errorf("%s: nemesis_plan %q is not a file of the run folder: give the name of the plan file beside run.json (%s)", name, r.NemesisPlan, PlanFile)
	}
	for _, m := range r.Models {
		if _, err := checker.ParseModel(string(m)); err != nil {
			return RunRecord{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	r.Initial = history.Normalize(r.Initial)
	if _, err := json.Marshal(r.Initial); err != nil {
		return RunRecord{}, fmt.Errorf("%s: initial value %v is not a JSON value consist can compare (%v): give the run.json consist run wrote", name, r.Initial, err)
	}
	return r, nil
}

// ParseResults reads a results.json: the verdicts of the one history a run
// checked. Only what the verdicts need is read (model, verdict, the model
// a verdict was implied by, the reason), so the report's other fields may
// change without breaking the reader. name labels it in errors.
func ParseResults(data []byte, name string) ([]checker.Result, error) {
	var files []struct {
		Results []struct {
			Model     string `json:"model"`
			Verdict   string `json:"verdict"`
			ImpliedBy string `json:"implied_by"`
			Reason    string `json:"reason"`
		} `json:"results"`
	}
	if err := decodeStrictly(data, &files); err != nil {
		return nil, fmt.Errorf("%s does not hold a run's results: %w (give the results.json consist run wrote)", name, err)
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%s holds the results of %d histories, not of one run: give the results.json consist run wrote", name, len(files))
	}
	out := make([]checker.Result, 0, len(files[0].Results))
	for i, r := range files[0].Results {
		m, err := checker.ParseModel(r.Model)
		if err != nil {
			return nil, fmt.Errorf("%s, result %d: %w", name, i+1, err)
		}
		v := checker.Verdict(r.Verdict)
		if v != checker.Valid && v != checker.Invalid && v != checker.Unknown && v != checker.Measured {
			return nil, fmt.Errorf("%s, result %d: verdict %q is none of valid, invalid, unknown, measured", name, i+1, r.Verdict)
		}
		res := checker.Result{Model: m, Verdict: v, Reason: r.Reason}
		if r.ImpliedBy != "" {
			if res.ImpliedBy, err = checker.ParseModel(r.ImpliedBy); err != nil {
				return nil, fmt.Errorf("%s, result %d: implied_by: %w", name, i+1, err)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// decodeStrictly decodes one JSON value, numbers kept exact, and refuses
// trailing data and oversized input.
func decodeStrictly(data []byte, v any) error {
	if len(data) > maxFolderFile {
		return fmt.Errorf("%d bytes is far too large", len(data))
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more follows the first JSON value")
	}
	return nil
}

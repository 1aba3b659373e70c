package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/history"
	"consist/recommend"
	"consist/run/folder"
)

func newRecommendCmd(stdout, stderr io.Writer) *cobra.Command {
	var req recommend.Requirements
	var asJSON bool
	var use string
	cmd := &cobra.Command{
		Use:   "recommend [flags] [RUN-FOLDER]",
		Short: "Recommend a consistency model or isolation level for your requirements, or say which one a run delivered",
		Long: `Given requirements as flags, recommend names the weakest consistency model
that meets them, says why and at what cost, names the bundled store that
provides it (to try with consist run) and the settings of etcd, Redis and
MySQL/MariaDB that do.

Given --use and an application (transfers, inventory, reports, on-call), it
names the weakest isolation level that rules out every anomaly the
application cannot live with, says which anomaly each weaker level lets
through (lost update, write skew, read skew, phantoms), and how to get
the level from MariaDB, etcd and Redis.

Given the folder of a run instead (store/latest, say), it says which models
the tested store delivered — the strongest that held, the weakest that
broke — and, for a bundled store, whether that matches its profile. A run
that was killed before it wrote its results is checked first, with the
settings of its run.json.`,
		Example: `  consist recommend --use transfers
  consist recommend --use reports --json
  consist recommend --strong
  consist recommend --causal --available --global
  consist recommend --stale-ok --write-heavy
  consist recommend store/latest`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if use != "" {
				others := cmd.Flags().NFlag() - 1
				if asJSON {
					others--
				}
				if len(args) > 0 || others > 0 {
					return usageError("--use takes no other requirement and no run folder")
				}
				a, err := recommend.Isolation(use)
				if err != nil {
					return usageError("--use: %w", err)
				}
				return adviseIsolation(stdout, a, asJSON)
			}
			if len(args) == 1 {
				if cmd.Flags().NFlag() > 0 && !asJSON {
					return usageError("give requirements as flags, or a run folder, not both")
				}
				return delivered(cmd.Context(), stdout, stderr, args[0], asJSON)
			}
			if req == (recommend.Requirements{}) {
				return usageError("say what you need: --strong, --stale-ok, --causal, --available, --global, --write-heavy, or --use %s for transactions (or give a run folder)", strings.Join(recommend.UseCaseNames(), "|"))
			}
			return advise(stdout, recommend.Recommend(req), asJSON)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&req.Strong, "strong", false, "every read must see every write completed before it began (balances, locks, unique names)")
	f.BoolVar(&req.StaleOK, "stale-ok", false, "reads may return older values for a while")
	f.BoolVar(&req.Causal, "causal", false, "effects must never be seen before their causes")
	f.BoolVar(&req.Available, "available", false, "both sides of a partition must keep serving")
	f.BoolVar(&req.Global, "global", false, "replicas are spread over distant regions")
	f.BoolVar(&req.WriteHeavy, "write-heavy", false, "writes dominate and must be fast")
	f.StringVar(&use, "use", "", "an application whose transactions need an isolation level: "+strings.Join(recommend.UseCaseNames(), ", "))
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	return cmd
}

func advise(w io.Writer, r recommend.Recommendation, asJSON bool) error {
	if asJSON {
		return writeJSON(w, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Recommended: %s\n\nWhy:\n", r.Model)
	for _, s := range r.Reasons {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	if len(r.Considerations) > 0 {
		b.WriteString("\nConsider:\n")
		for _, s := range r.Considerations {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
	}
	fmt.Fprintf(&b, "\nSee it: consist run --store %s --nemesis partition\n\nReal databases:\n", r.Store)
	for _, s := range r.Databases {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// adviseIsolation renders the answer to a transactional question: the
// level, why (each hazard, and what each weaker level lets through), then
// the settings of each database.
func adviseIsolation(w io.Writer, a recommend.Advice, asJSON bool) error {
	if asJSON {
		return writeJSON(w, a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n\nIsolation level: %s\n\nWhy: it rules out every anomaly this application cannot live with:\n", a.Title, a.Question, a.Level)
	for _, h := range a.Hazards {
		fmt.Fprintf(&b, "  - %s (%s): %s\n", h.Name, h.Kind, h.Example)
	}
	for _, s := range a.Why {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	if len(a.Weaker) > 0 {
		b.WriteString("\nWeaker levels let through:\n")
		for _, l := range a.Weaker {
			names := make([]string, len(l.Allows))
			for i, h := range l.Allows {
				names[i] = fmt.Sprintf("%s (%s)", h.Name, h.Kind)
			}
			fmt.Fprintf(&b, "  - %s: %s\n", l.Model, strings.Join(names, ", "))
		}
	}
	for _, s := range a.Settings {
		fmt.Fprintf(&b, "\n%s (gives %s):\n", s.Database, s.Provides)
		for _, step := range s.Steps {
			fmt.Fprintf(&b, "    %s\n", step)
		}
		for _, c := range s.Caveats {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
	}
	if len(a.Considerations) > 0 {
		b.WriteString("\nConsider:\n")
		for _, c := range a.Considerations {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runVerdict is what a run folder says the store delivered.
type runVerdict struct {
	Store     string          `json:"store,omitempty"`
	Holds     []checker.Model `json:"holds"`
	Breaks    []checker.Model `json:"breaks"`
	Unknown   []checker.Model `json:"unknown,omitempty"`
	Profile   string          `json:"profile,omitempty"`
	Disagrees []string        `json:"disagrees,omitempty"`
}

func delivered(ctx context.Context, w, stderr io.Writer, dir string, asJSON bool) error {
	var v runVerdict
	var rec *folder.RunRecord
	if data, err := os.ReadFile(filepath.Join(dir, folder.RunFile)); err == nil {
		r, err := folder.ParseRunRecord(data, filepath.Join(dir, folder.RunFile))
		if err != nil {
			return &exitError{code: exitBad, err: err}
		}
		rec, v.Store = &r, r.Store
	}
	results, err := runResults(ctx, stderr, dir, rec)
	if err != nil {
		return err
	}
	v.Holds, v.Breaks = checker.Summarize(results)
	for _, r := range results {
		if r.Verdict == checker.Unknown {
			v.Unknown = append(v.Unknown, r.Model)
		}
	}
	if s, err := builtin.Lookup(v.Store); err == nil {
		v.Profile = fmt.Sprintf("%s guarantees %s", s.Name, modelNames(s.Profile.Guarantees))
		for _, r := range results {
			if r.Verdict == checker.Invalid && s.Profile.Guaranteed(r.Model) {
				v.Disagrees = append(v.Disagrees, fmt.Sprintf("%s is guaranteed but broke", r.Model))
			}
		}
	}
	if asJSON {
		return writeJSON(w, v)
	}
	var b strings.Builder
	name := "The store"
	if v.Store != "" {
		name = v.Store
	}
	fmt.Fprintf(&b, "%s delivered: %s", name, modelNames(v.Holds))
	if len(v.Breaks) > 0 {
		fmt.Fprintf(&b, "; it broke %s", modelNames(v.Breaks))
	}
	b.WriteString("\n")
	if len(v.Unknown) > 0 {
		fmt.Fprintf(&b, "Undecided: %s\n", modelNames(v.Unknown))
	}
	if v.Profile != "" {
		fmt.Fprintf(&b, "Its profile: %s", v.Profile)
		if len(v.Disagrees) == 0 {
			b.WriteString("; the run agrees\n")
		} else {
			fmt.Fprintf(&b, "; the run disagrees: %s\n", strings.Join(v.Disagrees, "; "))
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// runResults are the verdicts of the run in dir: its results.json, or,
// for a run killed before it wrote one, a check of its history now with
// the run's settings.
func runResults(ctx context.Context, stderr io.Writer, dir string, rec *folder.RunRecord) ([]checker.Result, error) {
	name := filepath.Join(dir, folder.ResultsFile)
	data, err := os.ReadFile(name)
	switch {
	case err == nil:
		results, err := folder.ParseResults(data, name)
		if err != nil {
			return nil, &exitError{code: exitBad, err: err}
		}
		return results, nil
	case rec == nil || !errors.Is(err, fs.ErrNotExist):
		return nil, &exitError{code: exitBad, err: fmt.Errorf("%s is not a run folder: %w; give the folder consist run wrote, e.g. store/latest", dir, err)}
	}
	path := filepath.Join(dir, folder.HistoryFile)
	fmt.Fprintf(stderr, "consist: %s has no results (the run was stopped before it checked); checking %s with the run's settings\n", dir, path)
	fr, _ := checkFile(ctx, stderr, path, history.JSONL, rec.Models, checker.Options{Timeout: runCheckTimeout, Initial: rec.Initial, WFRKeys: rec.WFRKeys})
	if fr.Error != "" {
		return nil, &exitError{code: exitBad, err: fmt.Errorf("%s: %s", dir, fr.Error)}
	}
	return fr.Results, nil
}

func modelNames(ms []checker.Model) string {
	if len(ms) == 0 {
		return "none"
	}
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("write JSON: %w", err)}
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"consist/report"
)

// writeGraphs writes each distinct dependency cycle among fr's anomalies
// as DIR/<file>-<n>-<kind>.dot, and beside it an SVG when Graphviz's dot
// is installed; it says on stderr what it wrote.
func writeGraphs(ctx context.Context, stderr io.Writer, dir string, fr report.FileResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--graphs: %w", err)
	}
	base := strings.TrimSuffix(filepath.Base(fr.File), filepath.Ext(fr.File))
	dot, _ := exec.LookPath("dot")
	seen := map[string]bool{}
	n := 0
	for _, r := range fr.Results {
		for _, a := range r.Anomalies {
			text := report.CycleDOT(a)
			if text == "" || seen[text] {
				continue
			}
			seen[text] = true
			n++
			path := filepath.Join(dir, fmt.Sprintf("%s-%d-%s.dot", base, n, a.Kind))
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				return fmt.Errorf("--graphs: %w", err)
			}
			if dot != "" {
				svg := strings.TrimSuffix(path, ".dot") + ".svg"
				if out, err := exec.CommandContext(ctx, dot, "-Tsvg", "-o", svg, path).CombinedOutput(); err != nil {
					fmt.Fprintf(stderr, "consist: --graphs: dot could not draw %s: %v %s\n", path, err, out)
				}
			}
		}
	}
	fmt.Fprintf(stderr, "consist: --graphs: %d cycle(s) written to %s\n", n, dir)
	return nil
}

// Package corpus locates the public reference histories (Porcupine's and
// Jepsen's) that the tests check consist against. They live outside the
// repository, in ../shared/data beside the clone, or wherever CONSIST_DATA
// points.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides the corpus location.
const EnvVar = "CONSIST_DATA"

// Dir returns the corpus folder, or "" when it is absent.
func Dir() string {
	if d := os.Getenv(EnvVar); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "data")
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Require returns the path of sub inside the corpus, skipping the test with
// a message that says how to provide the corpus when it is absent.
func Require(tb testing.TB, sub string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Skipf("reference histories not found: put them in ../shared/data beside the repository or set %s", EnvVar)
	}
	p := filepath.Join(d, sub)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("reference histories %s not found: %v", p, err)
	}
	return p
}

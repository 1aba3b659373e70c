package mysql

import (
	"strings"
	"testing"
)

// TestDSNRedacted: the DSN consist run writes into run.json has no
// password, and one it cannot read is left out rather than copied.
func TestDSNRedacted(t *testing.T) {
	var redact func(string) string
	for _, s := range Target.Settings {
		if s.Name == "dsn" {
			redact = s.Redact
		}
	}
	if redact == nil {
		t.Fatal("the dsn setting has no redaction")
	}
	got := redact("consist:s3cret@tcp(127.0.0.1:3306)/test")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "consist@tcp(127.0.0.1:3306)/test") {
		t.Fatalf("redacted DSN %q", got)
	}
	if got := redact("not a dsn: s3cret@"); got != "" {
		t.Fatalf("an unreadable DSN became %q, want it left out", got)
	}
}

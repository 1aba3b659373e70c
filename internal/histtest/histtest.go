// Package histtest holds helpers for tests that write histories inline.
package histtest

import (
	"strings"
	"testing"

	"consist/history"
)

// Parse reads an inline JSON Lines history, failing the test on error.
func Parse(t testing.TB, jsonl string) *history.History {
	t.Helper()
	h, err := history.Parse([]byte(strings.TrimSpace(jsonl)+"\n"), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

package txnoracle

import (
	"math/rand/v2"
	"testing"

	"consist/history"
)

// TestWrittenHistoriesParse reads generated histories back with consist's
// own history reader, in both forms.
func TestWrittenHistoriesParse(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for i := range 200 {
		g := Generate(r, GenConfig{})
		for _, f := range []struct {
			format history.Format
			data   []byte
		}{{history.JSONL, g.History.JSONL()}, {history.EDN, g.History.EDN()}} {
			h, err := history.Parse(f.data, "generated", f.format)
			if err != nil {
				t.Fatalf("history %d as %v:\n%s\n%v", i, f.format, f.data, err)
			}
			if len(h.Ops) != len(g.History) {
				t.Fatalf("history %d as %v: %d operations, want %d", i, f.format, len(h.Ops), len(g.History))
			}
		}
	}
}

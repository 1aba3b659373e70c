package recommend_test

import (
	"strings"
	"testing"

	"consist/checker"
	"consist/recommend"
)

func TestRecommend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		req      recommend.Requirements
		model    checker.Model
		store    string
		consider string
	}{
		{"strong", recommend.Requirements{Strong: true}, checker.Linearizable, "paxos", "round trip to a majority"},
		{"strong and available cannot both be had", recommend.Requirements{Strong: true, Available: true}, checker.Linearizable, "paxos", "CAP theorem"},
		{"causal", recommend.Requirements{Causal: true}, checker.Causal, "causal", "different orders"},
		{"available, staleness not accepted", recommend.Requirements{Available: true}, checker.Causal, "causal", "reads may be stale"},
		{"stale reads accepted", recommend.Requirements{StaleOK: true}, checker.PRAM, "session", "sticky sessions"},
		{"stale reads and heavy writes", recommend.Requirements{StaleOK: true, WriteHeavy: true}, checker.Convergence, "eventual", "last-writer-wins"},
		{"strong beats stale-ok", recommend.Requirements{Strong: true, StaleOK: true}, checker.Linearizable, "paxos", "a weaker model is cheaper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := recommend.Recommend(tc.req)
			if r.Model != tc.model || r.Store != tc.store {
				t.Fatalf("recommended %s on %s, want %s on %s", r.Model, r.Store, tc.model, tc.store)
			}
			if len(r.Reasons) == 0 || len(r.Databases) == 0 {
				t.Fatalf("a recommendation without reasons or databases: %+v", r)
			}
			if !strings.Contains(strings.Join(r.Considerations, " "), tc.consider) {
				t.Fatalf("considerations %q do not mention %q", r.Considerations, tc.consider)
			}
		})
	}
}

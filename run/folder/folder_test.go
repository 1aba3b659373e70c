package folder_test

import (
	"encoding/json"
	"strings"
	"testing"

	"consist/checker"
	"consist/run/folder"
)

const goodRun = `{"version":"devel (revision abc)","command":["consist","run","--store=single"],"flags":{"store":"single"},
"store":"single","workload":"register","nemesis":"none","clients":4,"keys":5,"rate":0,"seed":1,
"models":["linearizable"],"initial":0,"started":"2026-12-04T22:00:00Z","ok":10,"fail":0,"info":0}`

const goodResults = `[{"file":"h.jsonl","results":[{"model":"linearizable","verdict":"valid","stats":{}},
{"model":"sequential","verdict":"valid","implied_by":"linearizable","stats":{}}]}]`

func TestParseRunRecord(t *testing.T) {
	r, err := folder.ParseRunRecord([]byte(goodRun), "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Store != "single" || r.Clients != 4 || len(r.Models) != 1 || r.Initial != int64(0) || r.Ended != nil {
		t.Fatalf("read %+v", r)
	}
	withPlan := strings.Replace(goodRun, `"nemesis":"none"`, `"nemesis":"kill","nemesis_plan":"nemesis-plan.json"`, 1)
	if r, err := folder.ParseRunRecord([]byte(withPlan), "run.json"); err != nil || r.NemesisPlan != folder.PlanFile {
		t.Fatalf("a run with a plan: %+v, %v", r, err)
	}
	for _, bad := range []struct{ data, says string }{
		{`{"workload":"register"}`, "names no store"},
		{`{"store":"single"}`, "names no workload"},
		{`{"store":"single","workload":"register","clients":-1}`, "negative"},
		{`{"store":"single","workload":"register","models":["linearisable"]}`, "unknown consistency model"},
		{`{"store":"single","workload":"register"} {}`, "more follows"},
		{`{"store":"single","workload":"register","nemesis_plan":"../plan.json"}`, "not a file of the run folder"},
		{`[1]`, "not a run record"},
		{``, "not a run record"},
	} {
		if _, err := folder.ParseRunRecord([]byte(bad.data), "run.json"); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: error %v, want one saying %q", bad.data, err, bad.says)
		}
	}
}

func TestParseResults(t *testing.T) {
	rs, err := folder.ParseResults([]byte(goodResults), "results.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Verdict != checker.Valid || rs[1].ImpliedBy != checker.Linearizable {
		t.Fatalf("read %+v", rs)
	}
	for _, bad := range []struct{ data, says string }{
		{`[]`, "of 0 histories"},
		{`[{"results":[]},{"results":[]}]`, "of 2 histories"},
		{`[{"results":[{"model":"linearizable","verdict":"maybe"}]}]`, "none of valid"},
		{`[{"results":[{"model":"nope","verdict":"valid"}]}]`, "unknown consistency model"},
		{`{"results":[]}`, "does not hold"},
	} {
		if _, err := folder.ParseResults([]byte(bad.data), "results.json"); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: error %v, want one saying %q", bad.data, err, bad.says)
		}
	}
}

// FuzzParseRunRecord: any input is read or refused with an error, never a
// panic; what is read has a store and a workload and known models, and
// survives a round trip through JSON.
func FuzzParseRunRecord(f *testing.F) {
	for _, s := range []string{goodRun, `{}`, `{"store":"x","workload":"y","initial":1e999}`, `{"store":"x","workload":"y","initial":123456789012345678901234567890}`,
		`{"store":"x","workload":"y","seed":-1}`, `{"store":"x","workload":"y","started":"yesterday"}`, "\xff", `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := folder.ParseRunRecord(data, "run.json")
		if err != nil {
			return
		}
		if r.Store == "" || r.Workload == "" || r.Clients < 0 {
			t.Fatalf("accepted %q as %+v", data, r)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("cannot write back what was read from %q: %v", data, err)
		}
		if _, err := folder.ParseRunRecord(out, "again"); err != nil {
			t.Fatalf("what was read from %q does not read back: %v\n%s", data, err, out)
		}
	})
}

// FuzzParseResults: any input is read or refused, never a panic; what is
// read holds known models and the three verdicts only.
func FuzzParseResults(f *testing.F) {
	for _, s := range []string{goodResults, `[]`, `[{"results":null}]`, `[{"results":[{"model":"PRAM","verdict":"unknown","implied_by":"x"}]}]`, `[{}]`, "[{\"results\":[{\"model\":\"\\u0000\"}]}]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := folder.ParseResults(data, "results.json")
		if err != nil {
			return
		}
		for _, r := range rs {
			if _, err := checker.ParseModel(string(r.Model)); err != nil {
				t.Fatalf("accepted model %q from %q", r.Model, data)
			}
			if r.Verdict != checker.Valid && r.Verdict != checker.Invalid && r.Verdict != checker.Unknown {
				t.Fatalf("accepted verdict %q from %q", r.Verdict, data)
			}
		}
		checker.Summarize(rs)
	})
}

package nemesis_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"consist/history"
	"consist/nemesis"
)

// TestPlanReplaysTheFaultsDrawn: the faults a random schedule drew, read
// back from its events, are injected again by a nemesis given the plan,
// with the same values.
func TestPlanReplaysTheFaultsDrawn(t *testing.T) {
	c := newCluster(5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &events{after: 2 * len(nemesis.Kinds()), cancel: cancel}
	n, err := nemesis.New(c, nemesis.Schedule{Kinds: nemesis.Kinds(), Interval: time.Millisecond, Order: nemesis.Cycle, Seed: 9}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range rec.list {
		rec.list[i].Index, rec.list[i].Time = int64(i), int64(i)*int64(time.Millisecond)
	}
	plan, err := nemesis.ReadPlan(rec.list, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Len() != 2*len(nemesis.Kinds()) {
		t.Fatalf("%d faults read back from %d events", plan.Len(), len(rec.list))
	}
	for i, f := range plan.Faults {
		if start := rec.list[2*i]; f.At != time.Duration(start.Time) || f.For != time.Millisecond || !reflect.DeepEqual(history.Normalize(f.Value()), history.Normalize(start.Value)) {
			t.Fatalf("fault %d read back as %+v from %+v", i+1, f, start)
		}
	}

	// The plan, on a fresh cluster, injects the same faults.
	c2 := newCluster(5)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rec2 := &events{after: plan.Len(), cancel: cancel2}
	scaled := plan.Clone()
	for i := range scaled.Faults {
		scaled.Faults[i].At /= 10
		scaled.Faults[i].For /= 10
	}
	n2, err := nemesis.New(c2, nemesis.Schedule{Plan: scaled, Kinds: []nemesis.Kind{nemesis.Kill}, Seed: 1}, rec2)
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.Run(ctx2); err != nil {
		t.Fatal(err)
	}
	if len(rec2.list) != len(rec.list) {
		t.Fatalf("the plan recorded %d events, the schedule %d", len(rec2.list), len(rec.list))
	}
	for i := range rec.list {
		a, b := rec.list[i], rec2.list[i]
		if a.F != b.F || history.Canonical(a.Value) != history.Canonical(b.Value) {
			t.Fatalf("event %d: the plan recorded %s %s, the schedule %s %s", i, b.F, history.Canonical(b.Value), a.F, history.Canonical(a.Value))
		}
	}
	if b := c2.broken(); len(b) > 0 {
		t.Fatalf("after the plan, still broken: %v", b)
	}
	if !reflect.DeepEqual(c.applied, c2.applied) {
		t.Fatalf("applied %v by the plan, %v by the schedule", c2.applied, c.applied)
	}

	// Its file form reads back the same.
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	back, err := nemesis.ParsePlan(data, "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, plan) {
		t.Fatalf("the plan's JSON %s reads back as %+v, not %+v", data, back, plan)
	}
}

func TestReadPlanRefuses(t *testing.T) {
	start := history.Event{Type: history.Info, Process: history.Nemesis, F: "start-kill", Value: []any{"n1"}, HasValue: true, Time: 10}
	stop := start
	stop.F, stop.Time = "stop-kill", 20
	pause := start
	pause.F = "start-pause"
	bad := start
	bad.Value = "n1"
	for name, c := range map[string]struct {
		events []history.Event
		want   string
	}{
		"never stopped":   {[]history.Event{start}, "never stopped"},
		"stop alone":      {[]history.Event{stop}, "without its start"},
		"overlapping":     {[]history.Event{start, pause, stop}, "in force"},
		"malformed value": {[]history.Event{bad, stop}, "not a list of nodes"},
	} {
		if _, err := nemesis.ReadPlan(c.events, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
	p, err := nemesis.ReadPlan([]history.Event{start, stop}, 4)
	if err != nil || p.Len() != 1 || p.Faults[0].At != 6 || p.Faults[0].For != 10 || !reflect.DeepEqual(p.Faults[0].Nodes, []string{"n1"}) {
		t.Fatalf("ReadPlan = %+v, %v", p, err)
	}
}

func TestParsePlanRefuses(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"faults": [{"kind": "meteor", "at": "1s", "for": "1s"}]}`, "unknown kind"},
		{`{"faults": [{"kind": "kill", "at": "soon", "for": "1s", "nodes": ["n1"]}]}`, `"at": "soon" is not a duration`},
		{`{"faults": [{"kind": "kill", "at": "1s", "for": "0s", "nodes": ["n1"]}]}`, "lasts 0s"},
		{`{"faults": [{"kind": "kill", "at": "1s", "for": "1s"}]}`, "no nodes"},
		{`{"faults": [{"kind": "kill", "at": "1s", "for": "2s", "nodes": ["n1"]}, {"kind": "pause", "at": "2s", "for": "1s", "nodes": ["n2"]}]}`, "before fault 1 ends at 3s"},
		{`{"faults": [{"kind": "loss", "at": "1s", "for": "1s", "rate": 1.5}]}`, "rate 1.5"},
		{`{"faults": [{"kind": "kill", "at": "1s", "for": "1s", "node": ["n1"]}]}`, "unknown field"},
		{`{"faults": []} {}`, "more follows"},
		{`{"faults": [{"kind": "partition", "at": "1s", "for": "1s", "style": "halves", "cut": [["n1", "n2", "n3"]]}]}`, "a link is two nodes"},
	} {
		_, err := nemesis.ParsePlan([]byte(c.json), "my-plan.json")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "my-plan.json") {
			t.Errorf("%s: %v, want an error naming the file and saying %q", c.json, err, c.want)
		}
	}
	// A plan that holds together but names a node the target lacks, or
	// a fault it cannot take, is refused by New.
	p, err := nemesis.ParsePlan([]byte(`{"faults": [{"kind": "kill", "at": "1s", "for": "1s", "nodes": ["n9"]}]}`), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nemesis.New(newCluster(3), nemesis.Schedule{Plan: p}, nil); err == nil || !strings.Contains(err.Error(), `"n9"`) {
		t.Fatalf("a plan killing n9 on n1..n3: %v", err)
	}
	p.Faults[0].Nodes = []string{"n1"}
	if _, err := nemesis.New(struct{ nemesis.Target }{newCluster(3)}, nemesis.Schedule{Plan: p}, nil); err == nil {
		t.Fatal("a target that cannot kill accepted a plan that kills")
	}
}

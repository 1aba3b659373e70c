package history

import (
	"testing"
)

func TestPairing(t *testing.T) {
	for _, tt := range []struct {
		format Format
		in     string
	}{
		{JSONL, `{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":"nemesis","f":"partition","value":["n1"]}
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"fail","process":1,"f":"cas","value":[1,2],"error":"mismatch"}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"info","process":"nemesis","f":"heal"}
`},
		{EDN, `{:type :invoke, :process 0, :f :write, :value 1}
{:type :info, :process :nemesis, :f :partition, :value ["n1"]}
{:type :invoke, :process 1, :f :cas, :value [1 2]}
{:type :ok, :process 0, :f :write, :value 1}
{:type :fail, :process 1, :f :cas, :value [1 2], :error :mismatch}
{:type :invoke, :process 2, :f :read, :value nil}
{:type :info, :process :nemesis, :f :heal}
`},
		{Porcupine, "INFO  jepsen.util - 0\t:invoke\t:write\t1\n" +
			"INFO  jepsen.util - :nemesis\t:info\t:partition\t[\"n1\"]\n" +
			"INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n" +
			"INFO  jepsen.util - 0\t:ok\t:write\t1\n" +
			"INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n" +
			"INFO  jepsen.util - 2\t:invoke\t:read\tnil\n" +
			"INFO  jepsen.util - :nemesis\t:info\t:heal\tnil\n"},
	} {
		t.Run(tt.format.String(), func(t *testing.T) {
			h, err := Parse([]byte(tt.in), "pairs", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Events) != 7 {
				t.Fatalf("%d events, want 7 (nemesis events kept)", len(h.Events))
			}
			if h.Events[1].Process != Nemesis || h.Events[6].Process != Nemesis {
				t.Errorf("nemesis events not kept in place: %+v", h.Events)
			}
			if len(h.Ops) != 3 {
				t.Fatalf("%d ops, want 3 (nemesis events are not ops)", len(h.Ops))
			}
			for _, op := range h.Ops {
				if op.Process == Nemesis {
					t.Errorf("nemesis op %+v", op)
				}
			}
			w, c, r := h.Ops[0], h.Ops[1], h.Ops[2]
			if w.Type != OK || w.Invoke != 0 || w.Complete != 3 || !Equal(w.Value(), int64(1)) {
				t.Errorf("write = %+v, want ok, events 0 and 3", w)
			}
			if c.Type != Fail || c.Invoke != 2 || c.Complete != 4 || !Equal(c.Input, []any{int64(1), int64(2)}) {
				t.Errorf("cas = %+v, want fail, events 2 and 4", c)
			}
			if r.Type != Info || r.Invoke != 5 || r.Complete != -1 || r.HasOutput {
				t.Errorf("open read = %+v, want info with Complete -1 and no output", r)
			}
			if h.CompleteEvent(&r) != nil || h.OpIndex(&r) != 5 || h.OpIndex(&w) != 3 {
				t.Errorf("OpIndex/CompleteEvent wrong for %+v / %+v", r, w)
			}
			if h.Processes() != 3 {
				t.Errorf("Processes() = %d, want 3", h.Processes())
			}
			if err := checkRoundTrip(h.Events); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{`{"type":"invoke","process":0,"f":"read"}`, JSONL},
		{"\n\n{ \"type\":\"invoke\"}", JSONL},
		{"\xef\xbb\xbf{\"type\":\"invoke\"}", JSONL},
		{"{:type :invoke, :process 0, :f :read}", EDN},
		{"; comment\n[{:type :invoke}]", EDN},
		{"({:type :invoke})", EDN},
		{`{:process 0, :type :invoke, :f :get, :key "1", :value nil}`, Porcupine},
		{"INFO  jepsen.util - 0\t:invoke\t:read\tnil", Porcupine},
		{"", EDN},
	}
	for _, tt := range tests {
		if got := Detect([]byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNemesisWithoutF(t *testing.T) {
	// Jepsen's nemesis ops may lack :f; the event keeps F "" and survives
	// the JSON Lines round trip.
	h, err := Parse([]byte("{:type :info, :process :nemesis, :value :boom}\n{:type :invoke, :process 0, :f :read}"), "n.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	if h.Events[0].F != "" || h.Events[0].Value != "boom" {
		t.Errorf("nemesis event %+v", h.Events[0])
	}
	if err := checkRoundTrip(h.Events); err != nil {
		t.Error(err)
	}
}

func TestBOM(t *testing.T) {
	for _, in := range []string{
		"\xef\xbb\xbf{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}",
		"\xef\xbb\xbf{:type :invoke, :process 0, :f :read}",
		"\xef\xbb\xbfINFO  jepsen.util - 0\t:invoke\t:read\tnil",
	} {
		if _, err := Parse([]byte(in), "bom", Auto); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

package history_test

import (
	"context"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

// 2^65 and 2^65+1: neither fits an int64, and float64 rounds both to 2^65.
const (
	pow65     = "36893488147419103232"
	pow65Plus = "36893488147419103233"
)

// Each format's history writes one number and later reads a neighbour of
// it, sequentially: linearizable only if the reader confuses the two.
var exactHistories = []struct {
	name   string
	format history.Format
	text   func(write, read string) string
}{
	{"jsonl", history.JSONL, func(w, r string) string {
		return `{"type":"invoke","process":0,"f":"write","value":` + w + "}\n" +
			`{"type":"ok","process":0,"f":"write","value":` + w + "}\n" +
			`{"type":"invoke","process":1,"f":"read","value":null}` + "\n" +
			`{"type":"ok","process":1,"f":"read","value":` + r + "}\n"
	}},
	{"jsonl-slow-path", history.JSONL, func(w, r string) string {
		// An escape in a field name ("\u0074ype" is "type") sends each
		// line to encoding/json rather than the fast decoder.
		return `{"\u0074ype":"invoke","process":0,"f":"write","value":` + w + "}\n" +
			`{"\u0074ype":"ok","process":0,"f":"write","value":` + w + "}\n" +
			`{"\u0074ype":"invoke","process":1,"f":"read","value":null}` + "\n" +
			`{"\u0074ype":"ok","process":1,"f":"read","value":` + r + "}\n"
	}},
	{"edn", history.EDN, func(w, r string) string {
		return "{:type :invoke, :process 0, :f :write, :value " + w + "}\n" +
			"{:type :ok, :process 0, :f :write, :value " + w + "}\n" +
			"{:type :invoke, :process 1, :f :read, :value nil}\n" +
			"{:type :ok, :process 1, :f :read, :value " + r + "}\n"
	}},
	{"porcupine-etcd", history.Porcupine, func(w, r string) string {
		return "INFO  jepsen.util - 0\t:invoke\t:write\t" + w + "\n" +
			"INFO  jepsen.util - 0\t:ok\t:write\t" + w + "\n" +
			"INFO  jepsen.util - 1\t:invoke\t:read\tnil\n" +
			"INFO  jepsen.util - 1\t:ok\t:read\t" + r + "\n"
	}},
	{"porcupine-kv", history.Porcupine, func(w, r string) string {
		return `{:process 0, :type :invoke, :f :put, :key "k", :value ` + w + "}\n" +
			`{:process 0, :type :ok, :f :put, :key "k", :value ` + w + "}\n" +
			`{:process 1, :type :invoke, :f :get, :key "k", :value nil}` + "\n" +
			`{:process 1, :type :ok, :f :get, :key "k", :value ` + r + "}\n"
	}},
}

func TestNeighbouringNumbersAreDistinctInEveryFormat(t *testing.T) {
	for _, c := range []struct{ write, read string }{
		{pow65Plus, pow65},
		{"0.30000000000000004", "0.30000000000000005"},
		{"0.1", "0.10000000000000000001"},
		{"1e400", "1e401"},
	} {
		for _, f := range exactHistories {
			t.Run(f.name+"/"+c.write, func(t *testing.T) {
				verdict := func(w, r string) checker.Verdict {
					t.Helper()
					h, err := history.Parse([]byte(f.text(w, r)), f.name, f.format)
					if err != nil {
						t.Fatalf("parse: %v", err)
					}
					res := linearizable.Check(context.Background(), h, checker.Options{})
					if res.Verdict == checker.Unknown {
						t.Fatalf("unknown: %s", res.Reason)
					}
					return res.Verdict
				}
				if v := verdict(c.write, c.read); v != checker.Invalid {
					t.Errorf("write %s then read %s is %s, want invalid", c.write, c.read, v)
				}
				if v := verdict(c.write, c.write); v != checker.Valid {
					t.Errorf("write %s then read %s is %s, want valid", c.write, c.write, v)
				}
			})
		}
	}
}

func TestJSONOutputKeepsExactNumbers(t *testing.T) {
	for _, text := range []string{pow65Plus, "-" + pow65, "0.10000000000000000001", "1e999999999", "36893488147419103232.0"} {
		in := `{"type":"invoke","process":0,"f":"write","value":[` + text + `,{"k":` + text + `}],"index":0}` + "\n"
		h, err := history.Parse([]byte(in), "t.jsonl", history.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := history.WriteJSONL(&out, h.Events); err != nil {
			t.Fatal(err)
		}
		if out.String() != in {
			t.Errorf("wrote\n%s want\n%s", out.String(), in)
		}
	}
}

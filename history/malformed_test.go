package history

import (
	"strings"
	"testing"
)

// malformedCase is one bad input: each reader must reject it with an
// *Error on line that mentions msg.
type malformedCase struct {
	name string
	in   string
	line int
	msg  string
}

// The same mistakes written in each format.
var malformed = map[Format][]malformedCase{
	JSONL: {
		{"truncated line", `{"type":"invoke","process":0,"f":"read","value":null}` + "\n" + `{"type":"ok","process":0,"f":"re` + "\n", 2, "invalid JSON"},
		{"completion without invocation", "\n" + `{"type":"ok","process":0,"f":"read","value":1}`, 2, "ok completion of read by process 0 has no open invocation"},
		{"crashed process invokes again", `{"type":"invoke","process":3,"f":"write","value":1}
{"type":"info","process":3,"f":"write","value":1}
{"type":"invoke","process":3,"f":"read","value":null}`, 3, "process 3 invokes read after it crashed (info completion on line 2)"},
		{"second invocation while open", `{"type":"invoke","process":1,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}`, 2, "process 1 invokes read while its write from line 1 is still open"},
		{"cas value not a pair", `{"type":"invoke","process":0,"f":"cas","value":[1]}`, 1, "cas value [1] is not a pair"},
		{"txn not a list", `{"type":"invoke","process":0,"f":"txn","value":5}`, 1, "txn value 5 is not a list of micro-ops"},
		{"txn micro-op not a triple", `{"type":"invoke","process":0,"f":"txn","value":[["r","x"]]}`, 1, `micro-op 0, ["r","x"], is not a [f, key, value] triple`},
		{"key is a map", `{"type":"invoke","process":0,"f":"read","key":{"a":1}}`, 1, `key {"a":1} is neither a string nor an integer`},
		{"completion f differs", `{"type":"invoke","process":0,"f":"read"}
{"type":"ok","process":0,"f":"write"}`, 2, `completion f "write" does not match the invocation's f "read"`},
		{"unknown field", `{"type":"invoke","process":0,"f":"read","valeu":1}`, 1, `unknown field "valeu"`},
		{"missing process", `{"type":"invoke","f":"read"}`, 1, `missing field "process"`},
		{"missing f", `{"type":"invoke","process":2}`, 1, `missing field "f"`},
		{"bad type", `{"type":"begin","process":0,"f":"read"}`, 1, `"begin" is not invoke, ok, fail or info`},
		{"not an object", `[1,2]`, 1, "the line holds [1,2], not an object"},
		{"two objects on a line", `{"type":"invoke","process":0,"f":"read"} {"type":"ok"}`, 1, "column 42: more text after the object"},
		{"type not a string", `{"type":1,"process":0,"f":"read"}`, 1, `field "type": 1 is not a string`},
		{"process not a number", `{"type":"invoke","process":"p1","f":"read"}`, 1, `field "process": "p1" is neither`},
		{"time not an integer", `{"type":"invoke","process":0,"f":"read","time":1.5}`, 1, `field "time": 1.5 is not an integer`},
		{"negative index", `{"type":"invoke","process":0,"f":"read","index":-1}`, 1, `field "index": must not be negative`},
		{"binary garbage", "\x89PNG\r\n\x1a\n\xff\xfe", 1, "binary"},
		{"NUL byte", `{"type":"invoke","process":0,"f":"read"}` + "\n{\"type\":\x00}\n", 2, "binary"},
		{"empty file", "", 0, "the history is empty"},
		{"whitespace only", " \n\t\r\n  ", 0, "the history is empty"},
		{"only a torn line", "\n{\"type\":\"invoke\"", 2, "the history holds no events: its only one, on line 2, is cut short"},
		{"garbage last line", `{"type":"invoke","process":0,"f":"write","value":1}` + "\n" + "%%%%%", 2, "invalid JSON"},
		{"random bytes on the last line", `{"type":"invoke","process":0,"f":"write","value":1}` + "\n" + "\x8f\xa3\x01\xfe", 2, "binary"},
		{"a complete object that is no event, last", `{"type":"invoke","process":0,"f":"write","value":1}` + "\n" + `{"type":"ok","process":0}`, 2, `missing field "f"`},
		{"a last line that is not an object", `{"type":"invoke","process":0,"f":"write","value":1}` + "\n" + `["type"`, 2, "invalid JSON"},
		{"duplicate index", `{"type":"invoke","process":0,"f":"read","index":4}
{"type":"ok","process":0,"f":"read","value":null,"index":5}
{"type":"invoke","process":1,"f":"read","index":4}`, 3, "index 4 is also the index of the event on line 1"},
		{"duplicate index out of order", `{"type":"invoke","process":0,"f":"read","index":9}
{"type":"ok","process":0,"f":"read","value":null,"index":2}
{"type":"invoke","process":1,"f":"read","index":9}`, 3, "index 9 is also the index of the event on line 1"},
		{"time backwards within a process", `{"type":"invoke","process":0,"f":"read","time":500}
{"type":"ok","process":0,"f":"read","value":null,"time":400}`, 2, "time 400 is before the time 500 of process 0's previous event on line 1"},
		{"unknown txn micro-op", `{"type":"invoke","process":0,"f":"txn","value":[["q","x",1]]}`, 1, `has function "q"; a micro-op is r, w or append`},
		{"txn key is an object", `{"type":"invoke","process":0,"f":"txn","value":[["w",{"a":1},1]]}`, 1, `has key {"a":1}; a key is a string or an integer`},
		{"txn key is a list", `{"type":"invoke","process":0,"f":"txn","value":[["r",[1],null]]}`, 1, `has key [1]; a key is a string or an integer`},
		{"index beyond int64", `{"type":"invoke","process":0,"f":"read","index":36893488147419103233}`, 1, `field "index": 36893488147419103233 is beyond int64's range`},
		{"key beyond int64", `{"type":"invoke","process":0,"f":"read","key":36893488147419103233}`, 1, "key 36893488147419103233 is an integer beyond int64's range"},
	},
	EDN: {
		{"truncated line", "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :re", 2, "op map opened on line 2 is never closed"},
		{"completion without invocation", "\n{:process 0, :type :ok, :f :read, :value 1}", 2, "ok completion of read by process 0 has no open invocation"},
		{"crashed process invokes again", `{:process 3, :type :invoke, :f :write, :value 1}
{:process 3, :type :info, :f :write, :value 1}
{:process 3, :type :invoke, :f :read, :value nil}`, 3, "process 3 invokes read after it crashed (info completion on line 2)"},
		{"second invocation while open", `[{:process 1, :type :invoke, :f :write, :value 1}
 {:process 1, :type :invoke, :f :read, :value nil}]`, 2, "process 1 invokes read while its write from line 1 is still open"},
		{"cas value not a pair", "{:process 0, :type :invoke, :f :cas, :value [1 2 3]}", 1, "cas value [1,2,3] is not a pair"},
		{"txn not a list", "{:process 0, :type :invoke, :f :txn, :value :x}", 1, `txn value "x" is not a list of micro-ops`},
		{"key is a map", "{:process 0, :type :invoke, :f :read, :key {:a 1}}", 1, `:key {"a":1} is neither a string nor an integer`},
		{"unterminated string", "{:process 0, :type :invoke, :f :write,\n :value \"abc}\n{:process 0}", 2, "string opened on line 2 is never closed: the input ends on line 3"},
		{"unterminated vector", "[{:process 0, :type :invoke, :f :read, :value nil}\n", 1, "top-level vector opened on line 1 is never closed"},
		{"unexpected }", "{:process 0, :type :invoke, :f :read, :value [1 2}}", 1, "unexpected '}': the vector opened on line 1 is still open"},
		{"odd map", "{:process 0, :type :invoke, :f}", 1, "odd number of forms: its key \"f\" has no value"},
		{"op not a map", "{:process 0, :type :invoke, :f :read}\n\"op\"", 2, "expected an op map at the top level, found a string"},
		{"missing type", "{:process 0, :f :read}", 1, "the op map has no :type"},
		{"missing process", "{:process 0, :type :invoke, :f :read}\n{:type :ok, :f :read}", 2, "the op map has no :process, but the op map on line 1 has :process 0"},
		{"bad type", "{:process 0, :type :done, :f :read}", 1, `op :type "done" is not :invoke, :ok, :fail or :info`},
		{"binary garbage", "\x89PNG\r\n\x1a\n\xff\xfe", 1, "binary"},
		{"NUL byte", "{:process 0, :type :invoke, :f :read}\n\n{:process \x00}", 3, "binary"},
		{"empty file", "", 0, "the history is empty"},
		{"whitespace only", "\n\n \t ,\n", 0, "the history is empty"},
		{"duplicate index", "{:process 0, :type :invoke, :f :read, :index 7}\n{:process 1, :type :invoke, :f :read, :index 7}", 2, "index 7 is also the index of the event on line 1"},
		{"unknown txn micro-op", "{:process 0, :type :invoke, :f :txn, :value [[:q :x 1]]}", 1, `has function "q"; a micro-op is r, w or append`},
		{"ratio without an exact decimal", "{:process 0, :type :invoke, :f :write, :value 1/3}", 1, "no exact decimal value"},
	},
	Porcupine: {
		{"truncated line", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok", 2, "2 field(s) instead of four"},
		{"completion without invocation", "INFO  jepsen.util - 0\t:ok\t:read\t1\n", 1, "ok completion of read by process 0 has no open invocation"},
		{"crashed process invokes again", "INFO  jepsen.util - 3\t:invoke\t:write\t1\nINFO  jepsen.util - 3\t:info\t:write\t:timed-out\nINFO  jepsen.util - 3\t:invoke\t:read\tnil\n", 3, "process 3 invokes read after it crashed (info completion on line 2)"},
		{"second invocation while open", "INFO  jepsen.util - 1\t:invoke\t:write\t1\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\n", 2, "process 1 invokes read while its write from line 1 is still open"},
		{"cas value not a pair", "INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n", 1, "cas value [1] is not a pair"},
		{"txn not a list", "INFO  jepsen.util - 0\t:invoke\t:txn\t5\n", 1, "txn value 5 is not a list of micro-ops"},
		{"key is a map", "{:process 0, :type :invoke, :f :get, :key {:a 1}, :value nil}\n", 1, `:key {"a":1} is neither a string nor an integer`},
		{"binary garbage", "\x89PNG\r\n\x1a\n\xff\xfe", 1, "binary"},
		{"NUL byte", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO\x00", 2, "binary"},
		{"empty file", "", 0, "the history is empty"},
		{"whitespace only", "   \n\n", 0, "the history is empty"},
	},
}

func TestMalformed(t *testing.T) {
	for format, cases := range malformed {
		for _, tt := range cases {
			t.Run(format.String()+"/"+tt.name, func(t *testing.T) {
				h, err := Parse([]byte(tt.in), "bad."+format.String(), format)
				if err == nil {
					t.Fatalf("parsed %d events, want an error mentioning %q", len(h.Events), tt.msg)
				}
				wantError(t, err, tt.line, tt.msg)
				if !strings.Contains(err.Error(), "bad."+format.String()) {
					t.Errorf("error %q does not name the file", err)
				}
			})
		}
	}
}

// Detection must not change the verdict on the malformed cases that are
// unambiguous text: they fail under Auto as well.
func TestMalformedAuto(t *testing.T) {
	for format, cases := range malformed {
		for _, tt := range cases {
			if _, err := Parse([]byte(tt.in), "bad", Auto); err == nil {
				t.Errorf("%v/%s: Auto parsed it", format, tt.name)
			}
		}
	}
}

func TestTornLastLineIsDropped(t *testing.T) {
	whole := "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}\n{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1}\n{\"type\":\"invoke\",\"process\":1,\"f\":\"write\",\"value\":2}\n"
	for _, tail := range []string{`{"type":"ok","proc`, "{\"type\":\"ok\",\"f\":\"write\",\"value\":\"\xe2\x82"} {
		h, err := Parse([]byte(whole+tail), "torn.jsonl", Auto)
		if err != nil {
			t.Fatalf("tail %q: %v", tail, err)
		}
		if h.TornLine != 4 || len(h.Ops) != 2 || h.Ops[1].Type != Info {
			t.Fatalf("tail %q: torn line %d, %d ops: want line 4 dropped and the open write counted as info", tail, h.TornLine, len(h.Ops))
		}
	}
	// A complete last line without a newline is kept.
	h, err := Parse([]byte(whole+`{"type":"ok","process":1,"f":"write","value":2}`), "whole.jsonl", Auto)
	if err != nil || h.TornLine != 0 || h.Ops[1].Type != OK {
		t.Fatalf("a complete unterminated last line: %v, torn line %d", err, h.TornLine)
	}
	// A bad line followed by a newline is bad input, not a torn write.
	if _, err := Parse([]byte(whole+"{\"type\":\"ok\",\"proc\n"), "bad.jsonl", Auto); err == nil {
		t.Fatal("a malformed line ending in a newline was accepted")
	}
}

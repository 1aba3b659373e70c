package history

import (
	"testing"
)

func TestEtcdLog(t *testing.T) {
	in := "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n" +
		"INFO  jepsen.util - 0\t:ok\t:read\t3\n" +
		"\n" +
		"INFO  jepsen.util - 2   :invoke :cas    [3 0]\n" + // spaces instead of tabs
		"INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\r\n" +
		"INFO  jepsen.util - 5\t:invoke\t:write\t4\n" +
		"INFO  jepsen.util - 5\t:info\t:write\t:timed-out\n" +
		"INFO  jepsen.util - 6\t:invoke\t:read\tnil\n" +
		"INFO  jepsen.util - 6\t:fail\t:read\t:timed-out\n" +
		"INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n" +
		"INFO  jepsen.util - 7\t:invoke\t:read\tnil\n"
	h, err := Parse([]byte(in), "etcd.log", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != Porcupine {
		t.Errorf("format %v, want porcupine", h.Format)
	}
	want := []Event{
		{Index: 0, Type: Invoke, Process: 0, F: "read", Value: nil, HasValue: true, Time: NoTime, Line: 1},
		{Index: 1, Type: OK, Process: 0, F: "read", Value: int64(3), HasValue: true, Time: NoTime, Line: 2},
		{Index: 2, Type: Invoke, Process: 2, F: "cas", Value: []any{int64(3), int64(0)}, HasValue: true, Time: NoTime, Line: 4},
		{Index: 3, Type: Fail, Process: 2, F: "cas", Value: []any{int64(3), int64(0)}, HasValue: true, Time: NoTime, Line: 5},
		{Index: 4, Type: Invoke, Process: 5, F: "write", Value: int64(4), HasValue: true, Time: NoTime, Line: 6},
		{Index: 5, Type: Info, Process: 5, F: "write", Error: "timed-out", Time: NoTime, Line: 7},
		{Index: 6, Type: Invoke, Process: 6, F: "read", Value: nil, HasValue: true, Time: NoTime, Line: 8},
		{Index: 7, Type: Fail, Process: 6, F: "read", Error: "timed-out", Time: NoTime, Line: 9},
		{Index: 8, Type: Info, Process: Nemesis, F: "start", Value: nil, HasValue: true, Time: NoTime, Line: 10},
		{Index: 9, Type: Invoke, Process: 7, F: "read", Value: nil, HasValue: true, Time: NoTime, Line: 11},
	}
	assertEvents(t, h.Events, want)
	if len(h.Ops) != 5 {
		t.Fatalf("%d ops, want 5", len(h.Ops))
	}
	if op := h.Ops[2]; op.Type != Info || op.HasOutput || op.Complete != 5 {
		t.Errorf("timed-out write = %+v, want an info op without output", op)
	}
	if op := h.Ops[3]; op.Type != Fail || op.HasOutput {
		t.Errorf("timed-out read = %+v, want a fail op without output", op)
	}
	if op := h.Ops[4]; op.Type != Info || op.Complete != -1 {
		t.Errorf("open read = %+v, want info with Complete -1", op)
	}
}

func TestPorcupineKV(t *testing.T) {
	in := `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :put, :key "3", :value "z"}
{:process 1, :type :ok, :f :put, :key "3", :value "z"}
`
	if f := Detect([]byte(in)); f != Porcupine {
		t.Errorf("Detect = %v, want porcupine", f)
	}
	h, err := Parse([]byte(in), "kv.txt", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 3 {
		t.Fatalf("%d ops, want 3", len(h.Ops))
	}
	for i, want := range []struct {
		f, key string
		v      any
	}{{"append", "0", "x 0 0 y"}, {"get", "0", "x 0 0 y"}, {"put", "3", "z"}} {
		op := h.Ops[i]
		if op.F != want.f || op.Key != want.key || !Equal(op.Value(), want.v) {
			t.Errorf("op %d = %s %v %v, want %s %s %v", i, op.F, op.Key, op.Value(), want.f, want.key, want.v)
		}
	}
}

func TestPorcupineErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"other logger", "INFO  jepsen.core - starting\n", 1, `is not an "INFO  jepsen.util - " line`},
		{"not a log", "hello world\n", 1, `"hello world" starts neither a Porcupine etcd log nor a kv log`},
		{"stray line", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nWARN something\n", 2, `"WARN something" is not an "INFO  jepsen.util - " line`},
		{"missing value", "INFO  jepsen.util - 0\t:invoke\t:read\n", 1, "3 field(s) instead of four"},
		{"bad process", "INFO  jepsen.util - x\t:invoke\t:read\tnil\n", 1, `process "x" is neither`},
		{"negative process", "INFO  jepsen.util - -1\t:invoke\t:read\tnil\n", 1, `process "-1" is neither`},
		{"bad type", "INFO  jepsen.util - 0\t:begin\t:read\tnil\n", 1, `type ":begin" is not`},
		{"empty f", "INFO  jepsen.util - 0\t:invoke\t:\tnil\n", 1, "f field is empty"},
		{"bad value", "\nINFO  jepsen.util - 0\t:invoke\t:write\t[1 2\n", 2, `value "[1 2": the vector opened on line 2 is never closed`},
		{"two values", "INFO  jepsen.util - 0\t:invoke\t:write\t1 2\n", 1, `value "1 2": unexpected "2" after the value`},
		{"kv not a map", "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n[1]\n", 2, "expected an op map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "p.log", Porcupine)
			wantError(t, err, tt.line, tt.msg)
		})
	}
}

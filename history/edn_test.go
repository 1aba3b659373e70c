package history

import (
	"math"
	"strings"
	"testing"
)

func TestEDNValues(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"nil", nil},
		{"true", true},
		{"false", false},
		{"42", int64(42)},
		{"-7", int64(-7)},
		{"+3", int64(3)},
		{"0", int64(0)},
		{"42N", int64(42)},
		{"0x1F", int64(31)},
		{"-0x10", int64(-16)},
		{"017", int64(15)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775808", Number("9223372036854775808")},
		{"123456789012345678901234567890N", Number("123456789012345678901234567890")},
		{"0x10000000000000001", Number("18446744073709551617")},
		{"0.10000000000000000001", Number("0.10000000000000000001")},
		{"0.10000000000000000001M", Number("0.10000000000000000001")},
		{"1e999999999", Number("1e999999999")},
		{"4/2", int64(2)},
		{"1/36893488147419103232", Number("0.00000000000000000002710505431213761085018632002174854278564453125")},
		{"1.5", 1.5},
		{"-2.25", -2.25},
		{"1.", 1.0},
		{"1e3", 1000.0},
		{"2.5E-1", 0.25},
		{"1.5M", 1.5},
		{"3M", 3.0},
		{"1.50M", 1.5},
		{"1/4", 0.25},
		{"-3/2", -1.5},
		{"##Inf", math.Inf(1)},
		{"##-Inf", math.Inf(-1)},
		{":x", "x"},
		{":jepsen.independent/tuple", "jepsen.independent/tuple"},
		{"foo", "foo"},
		{"my.ns/sym", "my.ns/sym"},
		{"+", "+"},
		{"-", "-"},
		{"a#b", "a#b"},
		{`"plain"`, "plain"},
		{`""`, ""},
		{`"a\nb\tc\"d\\e"`, "a\nb\tc\"d\\e"},
		{`"\u00e9\u4e2d"`, "é中"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},
		{`"two
lines"`, "two\nlines"},
		{`\a`, "a"},
		{`\newline`, "\n"},
		{`\space`, " "},
		{`\tab`, "\t"},
		{`\u00e9`, "é"},
		{`\o101`, "A"},
		{`\(`, "("},
		{`[1 2 3]`, []any{int64(1), int64(2), int64(3)}},
		{`[1, 2, 3]`, []any{int64(1), int64(2), int64(3)}},
		{`(1 :a "b")`, []any{int64(1), "a", "b"}},
		{`#{1}`, []any{int64(1)}},
		{`[]`, []any{}},
		{`()`, []any{}},
		{`[[:r :x nil] [:append :y 2]]`, []any{[]any{"r", "x", nil}, []any{"append", "y", int64(2)}}},
		{`{:a 1, "b" 2, 3 4, nil 5, [1 2] 6, sym 7, \c 8}`, map[string]any{
			"a": int64(1), "b": int64(2), "3": int64(4), "null": int64(5), "[1,2]": int64(6), "sym": int64(7), "c": int64(8)}},
		{`{}`, map[string]any{}},
		{`#inst "2024-01-02T03:04:05Z"`, "2024-01-02T03:04:05Z"},
		{`#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"`, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
		{`#object[clojure.core$future 0x19406276 {:status :pending}]`, []any{"clojure.core$future", int64(0x19406276), map[string]any{"status": "pending"}}},
		{`#my/tag #other/tag 5`, int64(5)},
		{`[1 #_2 3]`, []any{int64(1), int64(3)}},
		{`[1 #_ #_ 2 3 4]`, []any{int64(1), int64(4)}},
		{`[1 #_[2 3]]`, []any{int64(1)}},
		{"[1 ; comment ]\n 2]", []any{int64(1), int64(2)}},
		{"  ; lead\n  5 ; trail", int64(5)},
	}
	for _, tt := range tests {
		got, err := parseEDNForm([]byte(tt.in), "t.edn", 1)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !Equal(got, tt.want) {
			t.Errorf("%s = %s (%T), want %s (%T)", tt.in, Canonical(got), got, Canonical(tt.want), tt.want)
		}
	}
}

func TestEDNRatioWithoutExactDecimalRefused(t *testing.T) {
	for _, in := range []string{"1/3", "-2/7", "1/3000000000000000000000"} {
		_, err := parseEDNForm([]byte(in), "t.edn", 1)
		if err == nil || !strings.Contains(err.Error(), "no exact decimal value") {
			t.Errorf("%s: got %v, want a refusal naming the missing exact decimal value", in, err)
		}
	}
}

func TestEDNNaN(t *testing.T) {
	v, err := parseEDNForm([]byte("##NaN"), "t.edn", 1)
	if f, ok := v.(float64); err != nil || !ok || !math.IsNaN(f) {
		t.Fatalf("##NaN = %v, %v; want NaN", v, err)
	}
}

func TestEDNValueErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
	}{
		{`"abc`, 1, "string opened on line 1 is never closed"},
		{"\n\n\"abc\n\n", 3, "string opened on line 3 is never closed: the input ends on line 5"},
		{"[1 2", 1, "vector opened on line 1 is never closed"},
		{"(1\n(2)", 1, "list opened on line 1 is never closed"},
		{"#{1 2", 1, "set opened on line 1 is never closed"},
		{"{:a 1\n:b", 1, "map opened on line 1 is never closed"},
		{"{:a 1\n :b}", 2, "odd number of forms: its key \"b\" has no value"},
		{"{:a 1 :a 2}", 1, `has the key "a" twice`},
		{"[1 2}", 1, `unexpected '}': the vector opened on line 1 is still open`},
		{"}", 1, "unexpected '}': nothing is open"},
		{"1 2", 1, "unexpected \"2\" after the value"},
		{"", 1, "expected a value, found nothing"},
		{"12abc", 1, `invalid number "12abc"`},
		{"1/0", 1, "denominator is zero"},
		{"08", 1, "not a base-8 integer"},
		{"1.5.5", 1, `invalid number "1.5.5"`},
		{"1e", 1, `invalid number "1e"`},
		{":", 1, `invalid keyword ":"`},
		{"::auto", 1, `invalid keyword "::auto"`},
		{"'quoted", 1, "unexpected quote"},
		{"@x", 1, "unexpected character \"@\""},
		{`"bad \q escape"`, 1, `unknown escape "\\q"`},
		{`"\u12"`, 1, `invalid \u escape`},
		{`\nope`, 1, `unknown character literal \nope`},
		{`\`, 1, "backslash at the end"},
		{"##Foo", 1, "unknown symbolic value ##Foo"},
		{`#"regex"`, 1, `"#\"" is not an EDN form`},
		{"#", 1, "lone #"},
		{"[#_]", 1, "the #_ on line 1 is followed by an unmatched ']'"},
		{"#inst", 1, "the tag #inst on line 1 is followed by the end of the input"},
		{strings.Repeat("[", 2000) + strings.Repeat("]", 2000), 1, "nested more than 1000 levels"},
		{strings.Repeat("#_", 5000) + "1", 1, "nested more than 1000 levels"},
		{strings.Repeat("#t ", 5000) + "1", 1, "nested more than 1000 levels"},
	}
	for _, tt := range tests {
		_, err := parseEDNForm([]byte(tt.in), "t.edn", 1)
		if err == nil {
			t.Errorf("%.40q: no error, want %q", tt.in, tt.msg)
			continue
		}
		t.Run("", func(t *testing.T) { wantError(t, err, tt.line, tt.msg) })
	}
}

func TestEDNDepthLimitIsExact(t *testing.T) {
	ok := strings.Repeat("[", maxEDNDepth) + strings.Repeat("]", maxEDNDepth)
	if _, err := parseEDNForm([]byte(ok), "t.edn", 1); err != nil {
		t.Fatalf("%d levels: %v", maxEDNDepth, err)
	}
	// The deepest value an op map can hold still round-trips through JSON
	// Lines.
	deep := "{:process 0, :type :invoke, :f :write, :value " + strings.Repeat("[", maxEDNDepth) + strings.Repeat("]", maxEDNDepth) + "}"
	h, err := Parse([]byte(deep), "deep.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRoundTrip(h.Events); err != nil {
		t.Fatal(err)
	}
}

func TestEDNOpMap(t *testing.T) {
	in := `{:index 7, :time 123, :type :invoke, :process 3, :f :write, :key "k", :value 5, :node "n1", :debug {:x 1}}
{:index 8, :time 456, :type :fail, :process 3, :f :write, :key "k", :value 5, :node :n2, :error [:timeout "slow"]}
{:type :info, :process :nemesis, :f :start, :value {"n1" :ok}, :key "ignored"}
{:type "invoke", :process 4, :f "read", :key 12}
{:type :ok, :process 4, :f :read, :key 12, :value nil, :error :not-found, :time nil}
{:type :info, :process :nemesis}
`
	h, err := Parse([]byte(in), "ops.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Index: 7, Time: 123, Type: Invoke, Process: 3, F: "write", Key: "k", Value: int64(5), HasValue: true, Node: "n1", Line: 1},
		{Index: 8, Time: 456, Type: Fail, Process: 3, F: "write", Key: "k", Value: int64(5), HasValue: true, Node: "n2", Error: `["timeout","slow"]`, Line: 2},
		{Index: 2, Time: NoTime, Type: Info, Process: Nemesis, F: "start", Value: map[string]any{"n1": "ok"}, HasValue: true, Line: 3},
		{Index: 3, Time: NoTime, Type: Invoke, Process: 4, F: "read", Key: int64(12), Line: 4},
		{Index: 4, Time: NoTime, Type: OK, Process: 4, F: "read", Key: int64(12), Value: nil, HasValue: true, Error: "not-found", Line: 5},
		{Index: 5, Time: NoTime, Type: Info, Process: Nemesis, Line: 6},
	}
	assertEvents(t, h.Events, want)
	if len(h.Ops) != 2 || h.Ops[0].Type != Fail || h.Ops[1].Type != OK {
		t.Errorf("ops = %+v, want a failed write and an ok read", h.Ops)
	}
	if err := checkRoundTrip(h.Events); err != nil {
		t.Error(err)
	}
}

func TestEDNKnossosVector(t *testing.T) {
	for _, in := range []string{
		"; comment\n[{:process 0, :type :invoke, :f :read, :value nil}\n ; inside\n {:process 0, :type :ok, :f :read, :value 1}]\n; after\n",
		"({:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 1})",
		"[#jepsen.history.Op{:process 0, :type :invoke, :f :read, :value nil}\n #_{:discarded 1} #jepsen.history.Op{:process 0, :type :ok, :f :read, :value 1}]",
	} {
		h, err := Parse([]byte(in), "k.edn", Auto)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if len(h.Events) != 2 || h.Events[1].Index != 1 || h.Events[1].Line < 2 {
			t.Fatalf("%q: events %+v", in, h.Events)
		}
		if len(h.Ops) != 1 || !Equal(h.Ops[0].Output, int64(1)) {
			t.Errorf("%q: ops %+v", in, h.Ops)
		}
	}
}

func TestEDNMultiLineOpMapLine(t *testing.T) {
	in := "[{:type :invoke,\n :f :txn,\n :value [[:read :x nil]],\n :process 3}\n{:type :ok,\n :f :txn,\n :value [[:read :x 0] [:write :y 2]],\n :process 3}]"
	h, err := Parse([]byte(in), "m.edn", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if h.Events[0].Line != 1 || h.Events[1].Line != 5 {
		t.Errorf("lines %d, %d; want 1, 5", h.Events[0].Line, h.Events[1].Line)
	}
	want := []any{[]any{"r", "x", int64(0)}, []any{"w", "y", int64(2)}}
	if !Equal(h.Events[1].Value, want) {
		t.Errorf("Knossos micro-ops = %s, want %s", Canonical(h.Events[1].Value), Canonical(want))
	}
}

func TestEDNIndependent(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		lifted  bool
		keys    []any
		values  []any
		comment string
	}{
		{
			name: "register per key",
			in: `{:process 0, :type :invoke, :f :write, :value [1 5]}
{:process 0, :type :ok, :f :write, :value [1 5]}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 1, :type :invoke, :f :read, :value ["k" nil]}
{:process 1, :type :ok, :f :read, :value ["k" 3]}
{:process 2, :type :invoke, :f :cas, :value [1 [5 6]]}
{:process 2, :type :fail, :f :cas, :value [1 [5 6]]}`,
			lifted: true,
			keys:   []any{int64(1), int64(1), nil, "k", "k", int64(1), int64(1)},
			values: []any{int64(5), int64(5), nil, nil, int64(3), []any{int64(5), int64(6)}, []any{int64(5), int64(6)}},
		},
		{
			name: "cas only with inner pairs",
			in: `{:process 0, :type :invoke, :f :cas, :value [:x [0 1]]}
{:process 0, :type :ok, :f :cas, :value [:x [0 1]]}`,
			lifted: true,
			keys:   []any{"x", "x"},
			values: []any{[]any{int64(0), int64(1)}, []any{int64(0), int64(1)}},
		},
		{
			name: "plain cas register",
			in: `{:process 0, :type :invoke, :f :cas, :value [0 1]}
{:process 0, :type :ok, :f :cas, :value [0 1]}`,
			keys:   []any{nil, nil},
			values: []any{[]any{int64(0), int64(1)}, []any{int64(0), int64(1)}},
		},
		{
			name: "plain register with a nil read",
			in: `{:process 0, :type :invoke, :f :write, :value [1 2]}
{:process 0, :type :ok, :f :write, :value [1 2]}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value [1 2]}`,
			keys:   []any{nil, nil, nil, nil},
			values: []any{[]any{int64(1), int64(2)}, []any{int64(1), int64(2)}, nil, []any{int64(1), int64(2)}},
		},
		{
			name: "tuple key that is not a string or integer",
			in: `{:process 0, :type :invoke, :f :write, :value [1.5 2]}
{:process 0, :type :ok, :f :write, :value [1.5 2]}`,
			keys:   []any{nil, nil},
			values: []any{[]any{1.5, int64(2)}, []any{1.5, int64(2)}},
		},
		{
			name: "explicit keys win",
			in: `{:process 0, :type :invoke, :f :write, :key "a", :value [1 2]}
{:process 0, :type :ok, :f :write, :key "a", :value [1 2]}`,
			keys:   []any{"a", "a"},
			values: []any{[]any{int64(1), int64(2)}, []any{int64(1), int64(2)}},
		},
		{
			name: "independent transactions keep Knossos renames",
			in: `{:process 0, :type :invoke, :f :txn, :value [7 [[:read :x nil]]]}
{:process 0, :type :ok, :f :txn, :value [7 [[:read :x 1]]]}`,
			lifted: true,
			keys:   []any{int64(7), int64(7)},
			values: []any{[]any{[]any{"r", "x", nil}}, []any{[]any{"r", "x", int64(1)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse([]byte(tt.in), "i.edn", EDN)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range h.Events {
				if !Equal(e.Key, tt.keys[i]) || !Equal(e.Value, tt.values[i]) {
					t.Errorf("event %d: key %s value %s, want key %s value %s", i,
						Canonical(e.Key), Canonical(e.Value), Canonical(tt.keys[i]), Canonical(tt.values[i]))
				}
			}
		})
	}
}

func TestEDNOpErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"not a map", "{:process 0, :type :invoke, :f :read}\n[1 2]", 2, "expected an op map at the top level, found a vector"},
		{"keyword at top", "\n:foo", 2, `found ":foo"`},
		{"vector element not a map", "[{:process 0, :type :invoke, :f :read}\n 5]", 2, "element 1 of the top-level vector is \"5\", not an op map"},
		{"form after the vector", "[{:process 0, :type :invoke, :f :read}]\n{:process 0, :type :ok, :f :read}", 2, "after the top-level vector that closed on line 1"},
		{"vector never closed", "[{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read}\n", 1, "top-level vector opened on line 1 is never closed: the input ends on line 3"},
		{"list closed by ]", "({:process 0, :type :invoke, :f :read}]", 1, "top-level list opened on line 1 must be closed by ')'"},
		{"op map never closed", "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok,", 2, "op map opened on line 2 is never closed"},
		{"op map odd", "{:process 0, :type :invoke, :f}", 1, "odd number of forms"},
		{"missing type", "{:process 0, :f :read}", 1, "no :type"},
		{"missing process", "{:type :invoke, :process 1, :f :read}\n{:type :ok, :f :read}", 2, "no :process, but the op map on line 1 has :process 1"},
		{"missing process first", "{:type :invoke, :f :read}\n{:type :invoke, :process 1, :f :read}", 1, "no :process, but the op map on line 2 has :process 1"},
		{"loose invocations overlap", "{:type :invoke, :value [[:r 1 nil]]}\n{:type :invoke, :value [[:r 2 nil]]}", 2, "the invocation on line 1 has no completion before it"},
		{"loose completion first", "\n{:type :ok, :value [[:r 1 nil]]}", 2, "this ok completion has no :process and no invocation before it"},
		{"missing f", "{:type :invoke, :process 1}", 1, "no :f"},
		{"missing f, value not micro-ops", "{:type :invoke, :process 1, :value [1 2]}", 1, "no :f"},
		{"missing f, no invocation", "{:type :invoke, :process 1, :f :read}\n{:type :ok, :process 2, :value 3}", 2, "no :f"},
		{"loose missing f", "{:type :invoke, :value 3}\n{:type :ok, :value 3}", 1, "no :f"},
		{"bad type", "{:type :begin, :process 1, :f :read}", 1, `:type "begin" is not :invoke`},
		{"type not a name", "{:type 3, :process 1, :f :read}", 1, ":type 3 is not"},
		{"negative process", "{:type :invoke, :process -1, :f :read}", 1, ":process -1 is neither"},
		{"process keyword", "{:type :invoke, :process :client, :f :read}", 1, `:process "client" is neither`},
		{"f not a name", "{:type :invoke, :process 1, :f 3}", 1, ":f 3 is not a keyword"},
		{"empty f", `{:type :invoke, :process 1, :f ""}`, 1, `:f "" is not`},
		{"key is a map", "{:type :invoke, :process 1, :f :read,\n :key {:a 1}}", 2, `:key {"a":1} is neither a string nor an integer`},
		{"key is a float", "{:type :invoke, :process 1, :f :read, :key 1.5}", 1, ":key 1.5 is neither"},
		{"time is a float", "{:type :invoke, :process 1, :f :read, :time 1.5}", 1, ":time 1.5 is not a non-negative integer"},
		{"negative index", "{:type :invoke, :process 1, :f :read, :index -3}", 1, ":index -3 is not a non-negative integer"},
		{"duplicate field", "{:type :invoke, :process 1, :f :read, :f :write}", 1, ":f twice"},
		{"comment only", "; nothing here\n", 0, "the history is empty"},
		{"empty vector", "[]", 0, "the history is empty"},
		{"unterminated string in op", "{:type :invoke, :process 1, :f :read,\n :value \"abc}\n", 2, "string opened on line 2 is never closed"},
		{"unexpected close", "{:type :invoke, :process 1, :f :read}}", 1, "found an unmatched '}'"},
		{"bad number in op", "{:type :invoke, :process 1x, :f :read}", 1, `invalid number "1x"`},
		{"deep value", "{:type :invoke, :process 1, :f :read, :value " + strings.Repeat("[", 1500) + "}", 1, "nested more than 1000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "bad.edn", EDN)
			wantError(t, err, tt.line, tt.msg)
		})
	}
}

// Elle's loose form: op maps without :process are one client's, an
// :info completion starting a new process; op maps without :f are txns
// when their value is a vector of micro-ops, and a completion without :f
// repeats its invocation's.
func TestEDNLooseForm(t *testing.T) {
	in := `{:type :invoke :value [[:append :x 1] [:r :x nil]]}
{:type :info, :process :nemesis, :f :kill}
{:type :ok :value [[:append :x 1] [:r :x [1]]]}
{:type :invoke, :value [[:w 3 4]]}
{:type :info}
{:type :invoke, :value [[:r 3 nil]]}
{:type :fail, :value nil}
`
	h, err := Parse([]byte(in), "loose.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		proc Process
		typ  Type
		in   any
	}{
		{0, OK, []any{[]any{"append", "x", int64(1)}, []any{"r", "x", nil}}},
		{0, Info, []any{[]any{"w", int64(3), int64(4)}}},
		{1, Fail, []any{[]any{"r", int64(3), nil}}},
	}
	if len(h.Ops) != len(want) {
		t.Fatalf("%d ops, want %d: %+v", len(h.Ops), len(want), h.Ops)
	}
	for i, w := range want {
		op := h.Ops[i]
		if op.F != "txn" || op.Process != w.proc || op.Type != w.typ || !Equal(op.Input, w.in) {
			t.Errorf("op %d = %v %s %s %s, want %v %s txn %s", i, op.Process, op.Type, op.F, Describe(op.Input), w.proc, w.typ, Describe(w.in))
		}
	}
	if e := h.Events[1]; e.Process != Nemesis || e.F != "kill" {
		t.Errorf("nemesis event = %+v", e)
	}
	if got := h.Ops[0].Output; !Equal(got, []any{[]any{"append", "x", int64(1)}, []any{"r", "x", []any{int64(1)}}}) {
		t.Errorf("op 0 output %s", Describe(got))
	}
	if err := checkRoundTrip(h.Events); err != nil {
		t.Error(err)
	}
	// With :process, a completion may leave :f out too.
	h, err = Parse([]byte("{:type :invoke, :process 4, :f :read}\n{:type :ok, :process 4, :value 2}"), "f.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	if op := h.Ops[0]; op.F != "read" || !Equal(op.Output, int64(2)) {
		t.Errorf("op = %+v, want a read of 2", op)
	}
}

// EDN micro-ops read as the JSON Lines reader gives them: keywords and
// strings as strings, integers as int64, nil as null, read lists as lists.
func TestEDNMicroOpsMatchJSONLines(t *testing.T) {
	edn := `{:type :invoke, :process 0, :f :txn, :value [[:append :k 1] [:r "k" nil] [:w 7 2] [:r 7 nil]]}
{:type :ok, :process 0, :f :txn, :value [[:append :k 1] [:r "k" [1]] [:w 7 2] [:r 7 2]]}
`
	jsonl := `{"type":"invoke","process":0,"f":"txn","value":[["append","k",1],["r","k",null],["w",7,2],["r",7,null]]}
{"type":"ok","process":0,"f":"txn","value":[["append","k",1],["r","k",[1]],["w",7,2],["r",7,2]]}
`
	he, err := Parse([]byte(edn), "t.edn", EDN)
	if err != nil {
		t.Fatal(err)
	}
	hj, err := Parse([]byte(jsonl), "t.jsonl", JSONL)
	if err != nil {
		t.Fatal(err)
	}
	for i := range he.Events {
		if !Equal(he.Events[i].Value, hj.Events[i].Value) || Canonical(he.Events[i].Value) != Canonical(hj.Events[i].Value) {
			t.Errorf("event %d: EDN %s, JSON Lines %s", i, Describe(he.Events[i].Value), Describe(hj.Events[i].Value))
		}
	}
}

// A malformed micro-op is refused with the file and the line of its op map,
// in the strict form and in the loose one.
func TestEDNMalformedMicroOp(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unknown function", "{:type :invoke, :process 0, :f :txn, :value [[:r :x nil]]}\n{:type :ok, :process 0, :f :txn,\n :value [[:frob :x 1]]}", 2, `micro-op 0, ["frob","x",1], has function "frob"`},
		{"short micro-op", "\n{:type :invoke, :process 0, :f :txn, :value [[:r :x nil] [:append :x]]}", 2, "micro-op 1, [\"append\",\"x\"], is not a [f, key, value] triple"},
		{"map key", "{:type :invoke, :process 0, :f :txn, :value [[:w {:a 1} 2]]}", 1, "has key {\"a\":1}; a key is a string or an integer"},
		{"loose, bad function", "{:index 0 :type :invoke :value [[:r :x nil]]}\n{:index 1 :type :ok :value [[:r :x nil]]}\n{:index 2 :type :invoke :value [[\"frob\" :x nil]]}", 3, `has function "frob"`},
		{"loose, float key", "{:type :invoke :value [[:r 1.5 nil]]}", 1, "has key 1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "bad.edn", EDN)
			wantError(t, err, tt.line, tt.msg)
			if err != nil && !strings.Contains(err.Error(), "bad.edn:") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

package history

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"consist/internal/corpus"
)

// maxSeedSize keeps the corpus seeds small: the fuzzer minimises every new
// interesting input, which takes long on big ones.
const maxSeedSize = 1500

// handwrittenSeeds make the fuzz targets useful without the corpus.
var handwrittenSeeds = map[Format][]string{
	JSONL: {
		`{"type":"invoke","process":0,"f":"write","value":1,"time":5}
{"type":"ok","process":0,"f":"write","value":1,"time":9,"node":"n1"}
{"type":"invoke","process":1,"f":"cas","key":"x","value":[1,2]}
{"type":"info","process":1,"f":"cas","key":"x","error":"timeout"}
{"type":"info","process":"nemesis","f":"kill","value":{"n1":"dead"}}
{"type":"invoke","process":2,"f":"txn","value":[["r","x",null],["append","y",3]]}
{"type":"ok","process":2,"f":"txn","value":[["r","x",[1,2]],["append","y",3]],"index":99}
`,
		`{"type":"invoke","process":0,"f":"read","value":1.5e300,"key":7}`,
	},
	EDN: {
		`{:index 0, :time 0, :type :invoke, :process 3, :f :txn, :value [[:w 31 39] [:r 18 nil]]}
{:index 1, :time 1, :type :ok, :process 3, :f :txn, :value [[:w 31 39] [:r 18 43]], :error nil}
{:type :info, :process :nemesis, :f :start, :value #{"n1" \a 1/2 2.5M 7N ##-Inf}}
; comment
{:type :invoke, :process 4, :f :read, :key :k, :value nil #_ :ignored}
`,
		`; knossos
[{:process 0, :type :invoke, :f :cas, :value [0 1]}
 {:process 0, :type :fail, :f :cas, :value [0 1], :error [:timeout "x\n\u00e9"]}
 {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:write :y 2]]}
 {:process 1, :type :ok, :f :txn, :value [[:read :x 0] [:write :y 2]]}]`,
		`{:process 0, :type :invoke, :f :write, :value [36893488147419103233 -0x1ffffffffffffffffff 0.10000000000000000001 1e999999999 1.50M 3/4 4/2 99999999999999999999N]}
{:process 0, :type :ok, :f :write, :value [36893488147419103232 1e-400]}`,
		`({:process 0, :type :invoke, :f :write, :value [5 1]}
 {:process 0, :type :ok, :f :write, :value [5 1], :node #inst "2020-01-01", :extra ##Inf, :time 12})`,
	},
	Porcupine: {
		"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t3\n" +
			"INFO  jepsen.util - 1   :invoke :cas    [3 0]\nINFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n" +
			"INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n",
		"INFO  jepsen.util - 0\t:invoke\t:write\t36893488147419103233\nINFO  jepsen.util - 0\t:ok\t:write\t36893488147419103233\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t36893488147419103232\n",
		`{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}`,
	},
}

// addSeeds adds the handwritten seeds and malformed cases of the given
// formats and, when the corpus is present, the heads of a few corpus files
// whose names end in one of exts.
func addSeeds(f *testing.F, formats []Format, exts ...string) {
	for _, format := range formats {
		for _, s := range handwrittenSeeds[format] {
			f.Add([]byte(s))
		}
		for _, c := range malformed[format] {
			f.Add([]byte(c.in))
		}
	}
	perDir := map[string]int{}
	for _, path := range corpusSeedFiles() {
		dir := filepath.Dir(path)
		if !slices.Contains(exts, filepath.Ext(path)) || perDir[dir] >= 6 {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 0 {
			perDir[dir]++
			f.Add(seedHead(data))
		}
	}
}

// corpusSeedFiles lists the corpus's history files, or none when the corpus
// is absent: the fuzz targets run without it.
func corpusSeedFiles() []string {
	dir := corpus.Dir()
	if dir == "" {
		return nil
	}
	var files []string
	for _, pattern := range []string{
		"porcupine/test_data/jepsen/*.log", "porcupine/test_data/kv/*.txt",
		"jepsen/knossos/data/*/*/*.edn", "jepsen/elle/histories/*.edn",
	} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

// seedHead returns the whole lines of data that fit in maxSeedSize bytes,
// closing a Knossos vector or list that the cut left open.
func seedHead(data []byte) []byte {
	if len(data) <= maxSeedSize {
		return data
	}
	head := data[:maxSeedSize]
	if i := bytes.LastIndexByte(head, '\n'); i > 0 {
		head = head[:i+1]
	}
	head = bytes.Clone(head)
	for rest := head; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if line = bytes.TrimSpace(line); len(line) == 0 || line[0] == ';' {
			continue
		}
		switch line[0] {
		case '[':
			head = append(head, ']')
		case '(':
			head = append(head, ')')
		}
		break
	}
	return head
}

// jsonlSeeds converts the EDN and Porcupine seeds to JSON Lines seeds.
func jsonlSeeds(f *testing.F) {
	for _, format := range []Format{EDN, Porcupine} {
		for _, s := range handwrittenSeeds[format] {
			h, err := Parse([]byte(s), "seed", format)
			if err != nil {
				f.Fatalf("seed %q: %v", s, err)
			}
			var b bytes.Buffer
			if err := WriteJSONL(&b, h.Events); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
}

func fuzzParse(f *testing.F, format Format) {
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data, "fuzz", format)
		if err := checkParseResult(h, err); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseJSONL(f *testing.F) {
	addSeeds(f, []Format{JSONL})
	jsonlSeeds(f)
	fuzzParse(f, JSONL)
}

func FuzzParseEDN(f *testing.F) {
	addSeeds(f, []Format{EDN}, ".edn", ".txt")
	fuzzParse(f, EDN)
}

func FuzzParsePorcupine(f *testing.F) {
	addSeeds(f, []Format{Porcupine}, ".log", ".txt")
	fuzzParse(f, Porcupine)
}

func FuzzParseAuto(f *testing.F) {
	addSeeds(f, []Format{JSONL, EDN, Porcupine}, ".edn", ".log", ".txt")
	jsonlSeeds(f)
	fuzzParse(f, Auto)
}

// fastPathSeeds are lines that take the fast JSON Lines decoder to its
// edges: escapes, surrogates, numbers of every shape, nesting, nulls,
// duplicates and the nemesis.
var fastPathSeeds = []string{
	`{"type":"invoke","process":0,"f":"wr\u00e9te\n\"\\\/\b\f\r\t","key":"\ud83d\ude00","value":"\ud800x\udc00\ud800\u0041"}`,
	`{"type":"ok","process":1,"f":"read","value":[-0,0.5,-1.25e-3,1E400,9223372036854775807,-9223372036854775808,9223372036854775808,123456789012345678,1234567890123456789]}`,
	`{"type":"ok","process":1,"f":"read","value":{"a":1,"a":[true,false,null,{}],"b\u0000":[]},"time":null,"index":null,"node":null,"error":null}`,
	`{"type":"info","process":"nemesis","key":{"x":1},"value":null,"f":null}`,
	`{"type":"info","process":"nemesis"}`,
	`{"type":"fail","process":2,"f":"cas","value":[1,2],"error":{"code":[1,"x"]},"node":"n\u00e9"}`,
	` { "type" : "invoke" , "process" : 3 , "f" : "read" } `,
	`{"type":"invoke","process":0,"f":"read","type":"ok"}`,
	`{"type":"invoke","process":-0,"f":"read"}`,
	`{"type":"invoke","process":01,"f":"read"}`,
	`{"type":"invoke","process":1e2,"f":"read"}`,
	`{"type":"invoke","process":0,"f":"","time":1234567890123456789}`,
	`{"type":"invoke","process":0,"f":"read","value":"caf` + "\xc3\xa9" + `","node":"` + "\xff" + `"}`,
	`{"typ\u0065":"invoke","process":0,"f":"read"}`,
	`{"type":"invoke","process":0,"f":"read","value":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"type":"invoke","process":0,"f":"read"}` + "\u00a0",
	`{"type":"invoke","process":0,"f":"read",}`,
	`{"type":"invoke","process":0,"f":"read","value":[1,]}`,
	`{"type":"invoke","process":0,"f":"read","value":tru}`,
	`{"type":"ok","process":0,"f":"read","value":[36893488147419103233,-36893488147419103232,0.10000000000000000001,1.50,36893488147419103232.0,1e999999999,-2.5e-99999999999999999999999,0.30000000000000004,0.30000000000000005,1e-400]}`,
	`{"type":"ok","process":0,"f":"read","key":36893488147419103233,"value":null}`,
	`{"type":"invoke","process":0,"f":"txn","value":[["q","x",1],["r",{"a":1},null]]}`,
	`{"type":"invoke","process":0,"f":"read","index":3}` + "\n" + `{"type":"invoke","process":1,"f":"read","index":3}`,
	"\n{\"type\":\"invoke\"",
	"%%%%%",
}

// numberSeeds are number texts at the edges of int64, float64 and the
// exponent guard.
var numberSeeds = []string{
	"0", "-0", "-0.0", "1.50", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
	"36893488147419103233", "0.1", "0.10000000000000000001", "0.30000000000000005", "1e400", "1e-400",
	"1e999999999", "1e-99999999999999999999999", "4.9e-324", "2.4703282292062327e-324", "1.7976931348623157e308",
	"1.7976931348623159e308", "123456789012345678901234567890e-25", "0.000000000000000000000000000011", "+5", "007.50e+0",
}

// FuzzParseNumber checks that ParseNumber is exact: the value it returns
// reads back from its canonical text as itself, and it has the text's
// exact value (a float64 through its shortest text).
func FuzzParseNumber(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		v, err := ParseNumber(text)
		if err != nil {
			return
		}
		c := Canonical(v)
		again, err := ParseNumber(c)
		if err != nil || !Equal(again, v) || Canonical(again) != c {
			t.Fatalf("%q reads as %#v, whose text %s reads back as %#v, %v", text, v, c, again, err)
		}
		if len(c) > len(text)+30 {
			t.Fatalf("%q: canonical text %d bytes long", text, len(c))
		}
		want, ok := exactRat(text)
		if !ok {
			return
		}
		var got *big.Rat
		switch v := v.(type) {
		case int64:
			got = new(big.Rat).SetInt64(v)
		case float64:
			got, _ = new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
		case Number:
			got, ok = v.Rat()
			if !ok {
				return
			}
		}
		if got == nil || got.Cmp(want) != 0 {
			t.Fatalf("%q reads as %#v (%s), not its exact value %s", text, v, c, want.RatString())
		}
	})
}

// exactRat is text's exact value when its exponent is small enough to
// expand.
func exactRat(text string) (*big.Rat, bool) {
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		x, err := strconv.ParseInt(text[i+1:], 10, 64)
		if err != nil || x > 1000 || x < -1000 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(strings.TrimPrefix(text, "+"))
}

// FuzzReadMatchesParse checks that reading a history through ReadContext,
// a byte at a time, gives what Parse gives for the same bytes: the early
// binary check refuses nothing that Parse accepts.
func FuzzReadMatchesParse(f *testing.F) {
	addSeeds(f, []Format{JSONL, EDN, Porcupine})
	for _, s := range fastPathSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := Parse(data, "fuzz", Auto)
		got, gerr := ReadContext(context.Background(), iotest.OneByteReader(bytes.NewReader(data)), "fuzz", Auto, Limits{})
		if werr != nil {
			if gerr == nil {
				t.Fatalf("Parse refuses (%v), ReadContext accepts", werr)
			}
			return
		}
		if gerr != nil {
			t.Fatalf("Parse accepts, ReadContext refuses: %v", gerr)
		}
		if !reflect.DeepEqual(got.Events, want.Events) {
			t.Fatalf("ReadContext and Parse disagree on the events")
		}
	})
}

// FuzzJSONLFastMatchesSlow checks that the fast JSON Lines decoder gives
// exactly what encoding/json gives: every line it accepts decodes to the
// same event, and a whole input, read on one to three goroutines, to the
// same events or the same error.
func FuzzJSONLFastMatchesSlow(f *testing.F) {
	addSeeds(f, []Format{JSONL})
	jsonlSeeds(f)
	for _, s := range fastPathSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := newFastDecoder()
		for rest := data; len(rest) > 0; {
			var line []byte
			line, rest = nextLine(rest)
			for _, l := range [][]byte{line, bytes.TrimSpace(line)} {
				got, ok := fast.event(l)
				if !ok {
					continue
				}
				want, err := decodeEventJSON(l)
				if err != nil {
					t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", l, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("line %q:\nfast %#v\njson %#v", l, got, want)
				}
			}
		}
		want, werr := parseJSONLWith(data, "fuzz", 1, false)
		for workers := 1; workers <= 3; workers++ {
			got, gerr := parseJSONLWith(data, "fuzz", workers, true)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("fast on %d goroutines: %v, %#v\njson: %v, %#v", workers, gerr, got, werr, want)
			}
		}
	})
}

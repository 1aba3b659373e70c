package bank

import (
	"context"
	"fmt"
	"testing"

	"consist/checker"
	"consist/internal/histtest"
)

// setup opens accounts a0 and a1 with 100 each; its index is 1.
const setup = `
{"type":"invoke","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"ok","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"invoke","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}
{"type":"ok","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}`

// read is one read, invoked and completed, returning balances.
func read(process int, balances string) string {
	return fmt.Sprintf(`
{"type":"invoke","process":%d,"f":"read","value":null}
{"type":"ok","process":%d,"f":"read","value":%s}`, process, process, balances)
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		opts    checker.Options
		want    checker.Verdict
		kinds   []checker.Kind
		ops     [][]int64 // anomalies' ops
		reason  string    // a substring of Reason
		reads   int
	}{
		{name: "balances conserved", want: checker.Valid, reads: 2, history: setup + read(1, `{"a0":95,"a1":105}`) + read(1, `{"a0":100,"a1":100}`)},
		{name: "money destroyed", want: checker.Invalid, reads: 2, kinds: []checker.Kind{KindWrongTotal}, ops: [][]int64{{1, 7}}, reason: "1 of 2 reads broke", history: setup +
			read(1, `{"a0":95,"a1":105}`) + read(1, `{"a0":95,"a1":100}`)},
		{name: "money created", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongTotal}, ops: [][]int64{{1, 5}}, history: setup + read(1, `{"a0":100,"a1":105}`)},
		{name: "balances whose int64 sum wraps to the total are summed exactly", want: checker.Invalid, opts: checker.Options{AllowNegativeBalances: true}, reads: 1, kinds: []checker.Kind{KindWrongTotal}, ops: [][]int64{{1, 5}}, reason: "1 of 1 read broke", history: setup + read(1, `{"a0":-9223372036854775808,"a1":-9223372036854775608}`)},
		{name: "a balance beyond int64 is compared exactly", want: checker.Invalid, opts: checker.Options{AllowNegativeBalances: true}, reads: 1, kinds: []checker.Kind{KindWrongTotal}, ops: [][]int64{{1, 5}}, history: setup + read(1, `{"a0":36893488147419103233,"a1":-36893488147419103032}`)},
		{name: "balances beyond int64 that conserve the total", want: checker.Valid, opts: checker.Options{AllowNegativeBalances: true}, reads: 1, history: setup + read(1, `{"a0":36893488147419103233,"a1":-36893488147419103033}`)},
		{name: "a setup balance beyond int64 is refused", want: checker.Unknown, reason: "beyond int64", history: `
{"type":"invoke","process":9,"f":"write","value":{"a0":36893488147419103233,"a1":100}}
{"type":"ok","process":9,"f":"write","value":{"a0":36893488147419103233,"a1":100}}
{"type":"invoke","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}
{"type":"ok","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}` + read(1, `{"a0":100,"a1":100}`)},
		{name: "a negative balance", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindNegativeBalance}, ops: [][]int64{{5}}, history: setup + read(1, `{"a0":-5,"a1":205}`)},
		{name: "a negative balance and the wrong total", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongTotal, KindNegativeBalance}, ops: [][]int64{{1, 5}, {5}}, reason: "1 of 1 read broke", history: setup + read(1, `{"a0":-5,"a1":200}`)},
		{name: "negative balances allowed", opts: checker.Options{AllowNegativeBalances: true}, want: checker.Valid, reads: 1, history: setup + read(1, `{"a0":-5,"a1":205}`)},
		{name: "a missing account", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongAccounts}, ops: [][]int64{{1, 5}}, history: setup + read(1, `{"a0":200}`)},
		{name: "an account not set up", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongAccounts}, ops: [][]int64{{1, 5}}, history: setup + read(1, `{"a0":100,"a1":100,"a2":0}`)},
		{name: "a balance that is no integer", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongAccounts}, ops: [][]int64{{1, 5}}, history: setup + read(1, `{"a0":null,"a1":200}`)},
		{name: "a nil read is a bank without accounts", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindWrongAccounts}, ops: [][]int64{{1, 5}}, history: setup + read(1, `null`)},
		{name: "a nil read under Knossos' convention observed nothing", opts: checker.Options{NilRead: checker.NilReadUnknown}, want: checker.Unknown, reason: "no read of the balances succeeded after the setup write", history: setup + read(1, `null`)},
		{name: "a read begun before the setup completed is not judged", want: checker.Valid, reads: 1, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"invoke","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"ok","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"ok","process":1,"f":"read","value":{}}` + read(1, `{"a0":100,"a1":100}`)},
		{name: "no setup write", want: checker.Unknown, reason: "no setup write", history: `
{"type":"invoke","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}
{"type":"ok","process":0,"f":"transfer","value":{"from":"a0","to":"a1","amount":5}}` + read(1, `{"a0":95,"a1":105}`)},
		{name: "a failed setup write is none", want: checker.Unknown, reason: "no setup write", history: `
{"type":"invoke","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"fail","process":9,"f":"write","value":{"a0":100,"a1":100}}` + read(1, `{"a0":95,"a1":105}`)},
		{name: "a crashed setup write", want: checker.Unknown, reason: "the setup write (index 1) did not complete ok", history: `
{"type":"invoke","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"info","process":9,"f":"write","value":{"a0":100,"a1":100}}` + read(1, `{"a0":95,"a1":105}`)},
		{name: "two writes", want: checker.Unknown, reason: "the balances were written 2 times (the first at index 1, the second at index 5)", history: setup + `
{"type":"invoke","process":9,"f":"write","value":{"a0":100,"a1":100}}
{"type":"ok","process":9,"f":"write","value":{"a0":100,"a1":100}}` + read(1, `{"a0":100,"a1":100}`)},
		{name: "a setup write that is no map of balances", want: checker.Unknown, reason: `wrote {"a0":"x"}, not a map`, history: `
{"type":"invoke","process":9,"f":"write","value":{"a0":"x"}}
{"type":"ok","process":9,"f":"write","value":{"a0":"x"}}`},
		{name: "no read", want: checker.Unknown, reason: "no read of the balances succeeded", history: setup},
		{name: "not a bank", want: checker.Unknown, reason: "also uses cas", history: setup + `
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":1,"f":"cas","value":[1,2]}`},
		{name: "a read of no map", want: checker.Unknown, reason: "returned 7, not a map of balances", history: setup + read(1, `7`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := histtest.Parse(t, tc.history)
			res := Check(context.Background(), h, tc.opts)
			histtest.Check(t, h, res, histtest.Want{Model: checker.Bank, Engine: Engine, Verdict: tc.want, Reason: tc.reason, Kinds: tc.kinds, Ops: tc.ops})
			if d, ok := res.Details.(*Details); ok && d.Reads != tc.reads {
				t.Errorf("%d reads judged, want %d", d.Reads, tc.reads)
			}
		})
	}
}

func TestExplanations(t *testing.T) {
	for _, tc := range []struct {
		name, balances string
		want           []string
	}{
		{"wrong total", `{"a0":95,"a1":100}`, []string{
			"Process 3 read balances summing to 195 (index 5, line 6), but the setup write (index 1, line 2) gave the accounts 200 in total and transfers only move money: 5 was destroyed."}},
		{"negative balance", `{"a0":-5,"a1":205}`, []string{
			"Process 3 read a negative balance (index 5, line 6): a0 holds -5, though a transfer that would overdraw its source must not apply; if the store allows overdrafts, allow negative balances."}},
		{"wrong accounts", `{"a0":100,"a2":100}`, []string{
			`Process 3 read balances {"a0":100,"a2":100} (index 5, line 6), but the setup write (index 1, line 2) created 2 accounts: a1 missing; a2 not set up.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(context.Background(), histtest.Parse(t, setup+read(3, tc.balances)), checker.Options{})
			var got []string
			for _, a := range res.Anomalies {
				got = append(got, a.Explanation())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("explanations %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDetails(t *testing.T) {
	res := Check(context.Background(), histtest.Parse(t, setup+read(1, `{"a0":95,"a1":105}`)+read(1, `{"a0":-1,"a1":200}`)), checker.Options{})
	want := Details{Accounts: 2, Total: 200, Reads: 2, WrongTotal: 1, NegativeBalance: 1}
	if got := *res.Details.(*Details); got != want {
		t.Errorf("details %+v, want %+v", got, want)
	}
}

func TestApplies(t *testing.T) {
	for _, tc := range []struct {
		name, history string
		want          bool
	}{
		{"bank", setup + read(1, `{"a0":95,"a1":105}`), true},
		{"register writing maps, no transfer", `
{"type":"invoke","process":9,"f":"write","value":{"a0":100}}
{"type":"ok","process":9,"f":"write","value":{"a0":100}}` + read(1, `{"a0":100}`), false},
		{"counter", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Checker{}).Applies(histtest.Parse(t, tc.history)); got != tc.want {
				t.Errorf("Applies = %v, want %v", got, tc.want)
			}
		})
	}
}

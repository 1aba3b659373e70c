package workloads

import (
	"fmt"
	"math/rand/v2"

	"consist/adapters"
	"consist/checker"
)

// BankInitialBalance is every account's balance after the bank workload's
// setup write, so the total is BankInitialBalance times the number of
// accounts.
const BankInitialBalance = 100

// MaxTransfer is the largest amount the bank workload transfers; amounts
// are drawn from 1 to MaxTransfer, as in Jepsen's bank test.
const MaxTransfer = 5

// bank is transfers between accounts "a0", "a1", ... (Options.Keys of
// them, default 5, at least 2) of one bank object, the default object
// (no key), and reads of every balance; 1:1 by default.
type bank struct {
	opts     Options
	accounts []string
	mix      mix
}

func newBank(opts Options) (*bank, error) {
	accounts, err := keyNames("bank", "a", opts, 5)
	if err != nil {
		return nil, err
	}
	if len(accounts) < 2 {
		return nil, fmt.Errorf("bank workload: %d account: a transfer needs two; use at least 2 keys", len(accounts))
	}
	m, err := newMix("bank", "transfer", opts, mix{reads: 1, updates: 1})
	if err != nil {
		return nil, err
	}
	return &bank{opts: opts, accounts: accounts, mix: m}, nil
}

func (*bank) Name() string { return "bank" }

// Models: the bank invariant.
func (*bank) Models() []checker.Model { return []checker.Model{checker.Bank} }

// Setup writes BankInitialBalance to every account.
func (w *bank) Setup() []adapters.Op {
	balances := make(map[string]any, len(w.accounts))
	for _, a := range w.accounts {
		balances[a] = int64(BankInitialBalance)
	}
	return []adapters.Op{{Kind: adapters.Bank, F: "write", Value: balances}}
}

// Final reads every balance.
func (*bank) Final() []adapters.Op { return []adapters.Op{{Kind: adapters.Bank, F: "read"}} }

func (w *bank) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, len(w.accounts), w.opts.Distribution)
	return &bankGen{w: w, rng: rng, pick: pick}
}

type bankGen struct {
	w    *bank
	rng  *rand.Rand
	pick keyPicker
}

// Next draws a read, or a transfer between two different accounts.
func (g *bankGen) Next() adapters.Op {
	if g.w.mix.read(g.rng) {
		return adapters.Op{Kind: adapters.Bank, F: "read"}
	}
	from := g.pick()
	to := g.pick()
	for to == from {
		to = g.pick()
	}
	return adapters.Op{Kind: adapters.Bank, F: "transfer", Value: map[string]any{
		"from":   g.w.accounts[from],
		"to":     g.w.accounts[to],
		"amount": 1 + g.rng.Int64N(MaxTransfer),
	}}
}

// Done: what the store answered does not change what is drawn next.
func (*bankGen) Done(adapters.Op, bool, any) {}

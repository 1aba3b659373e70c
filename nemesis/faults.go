package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// plan draws the particulars of a fault of kind: which nodes, which links,
// how far.
func (n *Nemesis) plan(kind Kind) (fault, error) {
	nodes := n.target.Nodes()
	f := fault{kind: kind}
	switch kind {
	case Partition:
		p := n.target.(Partitioner)
		style, cuts := n.partition(nodes)
		f.value = map[string]any{"style": style, "cut": pairsValue(cuts)}
		f.apply = func(ctx context.Context) error { return p.Partition(ctx, cuts) }
		f.heal = p.Heal
	case Kill:
		k := n.target.(Killer)
		victims := n.minority(nodes)
		f.value = stringsValue(victims)
		f.apply = eachNode(victims, k.Kill)
		f.heal = eachNode(victims, k.Restart)
	case Pause:
		p := n.target.(Pauser)
		victims := n.minority(nodes)
		f.value = stringsValue(victims)
		f.apply = eachNode(victims, p.Pause)
		f.heal = eachNode(victims, p.Resume)
	case Clock:
		c := n.target.(ClockSkewer)
		victims := n.minority(nodes)
		skews := map[string]time.Duration{}
		value := map[string]any{}
		for _, v := range victims {
			d := time.Duration(n.rng.Int64N(int64(2*n.sched.MaxSkew))) - n.sched.MaxSkew
			d = d.Round(time.Millisecond)
			skews[v] = d
			value[v] = d.String()
		}
		f.value = value
		f.apply = eachNode(victims, func(ctx context.Context, node string) error { return c.Skew(ctx, node, skews[node]) })
		f.heal = eachNode(victims, func(ctx context.Context, node string) error { return c.Skew(ctx, node, 0) })
	case Latency:
		l := n.target.(LinkDegrader)
		extra := n.sched.SpikeLatency
		f.value = extra.String()
		f.apply = func(ctx context.Context) error { return l.Slow(ctx, extra) }
		f.heal = l.RestoreLinks
	case Loss:
		l := n.target.(LinkDegrader)
		rate := n.sched.LossRate
		f.value = rate
		f.apply = func(ctx context.Context) error { return l.Lose(ctx, rate) }
		f.heal = l.RestoreLinks
	default:
		return f, supports(n.target, kind)
	}
	return f, nil
}

// eachNode returns an action doing do on every node, going on past
// errors so that a heal restores all it can.
func eachNode(nodes []string, do func(ctx context.Context, node string) error) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		for _, node := range nodes {
			if err := do(ctx, node); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", node, err))
			}
		}
		return errors.Join(errs...)
	}
}

// minority draws between one node and a minority of them, sorted.
func (n *Nemesis) minority(nodes []string) []string {
	most := max(1, (len(nodes)-1)/2)
	count := 1 + n.rng.IntN(most)
	picked := slices.Clone(nodes)
	n.rng.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	picked = picked[:count]
	slices.Sort(picked)
	return picked
}

// Partition styles.
const (
	styleHalves   = "halves"
	styleIsolate  = "isolate"
	styleMajority = "majorities-ring"
)

// partition draws a style of partition and the links it cuts.
func (n *Nemesis) partition(nodes []string) (string, [][2]string) {
	if len(nodes) < 2 {
		return styleIsolate, nil
	}
	shuffled := slices.Clone(nodes)
	n.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	styles := []string{styleHalves, styleIsolate}
	if len(nodes) >= 3 {
		styles = append(styles, styleMajority)
	}
	switch style := styles[n.rng.IntN(len(styles))]; style {
	case styleHalves:
		return style, Split(shuffled[:len(shuffled)/2], shuffled[len(shuffled)/2:])
	case styleIsolate:
		return style, Split(shuffled[:1], shuffled[1:])
	default:
		return style, MajoritiesRing(shuffled)
	}
}

// Split returns the links between every node of a and every node of b.
func Split(a, b []string) [][2]string {
	var cuts [][2]string
	for _, x := range a {
		for _, y := range b {
			cuts = append(cuts, [2]string{x, y})
		}
	}
	return cuts
}

// MajoritiesRing returns the links to cut so that, around the ring of
// nodes in the order given, each node still reaches a majority (itself and
// its nearest neighbours) but no two nodes reach the same majority: each
// believes itself in the majority, and there is none. With three nodes it
// cuts one link: two nodes each see a different majority through the
// third.
func MajoritiesRing(ring []string) [][2]string {
	n := len(ring)
	if n < 3 {
		return nil
	}
	if n == 3 {
		return [][2]string{{ring[0], ring[1]}}
	}
	reach := (n/2 + 1) / 2 // neighbours kept on each side: n/2 others in all, rounded up
	var cuts [][2]string
	for i := range n {
		for j := i + 1; j < n; j++ {
			d := min(j-i, n-(j-i))
			if d > reach {
				cuts = append(cuts, [2]string{ring[i], ring[j]})
			}
		}
	}
	return cuts
}

func pairsValue(cuts [][2]string) []any {
	out := make([]any, len(cuts))
	for i, c := range cuts {
		out[i] = []any{c[0], c[1]}
	}
	return out
}

func stringsValue(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

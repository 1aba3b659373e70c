package nemesis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// draw draws the particulars of a fault of kind: which nodes, which
// links, how far.
func (n *Nemesis) draw(kind Kind) Fault {
	nodes := n.target.Nodes()
	f := Fault{Kind: kind}
	switch kind {
	case Partition:
		f.Style, f.Cut = n.partition(nodes)
	case Kill, Pause:
		f.Nodes = n.minority(nodes)
	case Clock:
		f.Skews = map[string]time.Duration{}
		for _, v := range n.minority(nodes) {
			d := time.Duration(n.rng.Int64N(int64(2*n.sched.MaxSkew))) - n.sched.MaxSkew
			f.Skews[v] = d.Round(time.Millisecond)
		}
	case Latency:
		f.Extra = n.sched.SpikeLatency
	case Loss:
		f.Rate = n.sched.LossRate
	}
	return f
}

// act returns how to apply and heal the fault f describes.
func (n *Nemesis) act(f Fault) (fault, error) {
	a := fault{kind: f.Kind, value: f.Value()}
	switch f.Kind {
	case Partition:
		p := n.target.(Partitioner)
		cuts := f.Cut
		a.apply = func(ctx context.Context) error { return p.Partition(ctx, cuts) }
		a.heal = p.Heal
	case Kill:
		k := n.target.(Killer)
		a.apply = eachNode(f.Nodes, k.Kill)
		a.heal = eachNode(f.Nodes, k.Restart)
	case Pause:
		p := n.target.(Pauser)
		a.apply = eachNode(f.Nodes, p.Pause)
		a.heal = eachNode(f.Nodes, p.Resume)
	case Clock:
		c := n.target.(ClockSkewer)
		skews := f.Skews
		victims := slices.Sorted(maps.Keys(skews))
		a.apply = eachNode(victims, func(ctx context.Context, node string) error { return c.Skew(ctx, node, skews[node]) })
		a.heal = eachNode(victims, func(ctx context.Context, node string) error { return c.Skew(ctx, node, 0) })
	case Latency:
		l := n.target.(LinkDegrader)
		extra := f.Extra
		a.apply = func(ctx context.Context) error { return l.Slow(ctx, extra) }
		a.heal = l.RestoreLinks
	case Loss:
		l := n.target.(LinkDegrader)
		rate := f.Rate
		a.apply = func(ctx context.Context) error { return l.Lose(ctx, rate) }
		a.heal = l.RestoreLinks
	default:
		return a, supports(n.target, f.Kind)
	}
	return a, nil
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

// Package single is the linearizable baseline store: one node on the
// simulated network holding every object, applying each operation —
// a transaction over several keys included — atomically with the
// semantics of package objects and writing it to disk before answering,
// so that a crash loses nothing acknowledged. One operation at a time,
// in real time: linearizable, and strict-serializable for transactions.
package single

import (
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
)

// New returns a store of one node, n1, with every object empty. cfg.Nodes
// is ignored.
func New(cfg simnet.Config) *simnet.Network {
	cfg.Nodes = 1
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{} })
}

type machine struct{ objects map[any]any }

func (m *machine) Start(n *simnet.Node) {
	if saved, ok := n.Disk().Get("objects").(map[any]any); ok {
		m.objects = saved
		return
	}
	m.objects = map[any]any{}
	n.Disk().Put("objects", m.objects)
}

func (m *machine) Receive(string, any) {}

func (m *machine) Request(req *simnet.Request) {
	req.Reply(objects.Do(m.objects, req.Op))
}

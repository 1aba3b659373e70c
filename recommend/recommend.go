// Package recommend advises on a consistency model: from what an
// application needs (Requirements) it picks the weakest model that
// provides it, says why and at what cost, and names the bundled store that
// shows the model and the settings of real databases that provide it. The
// trade-offs follow the CAP theorem (Gilbert & Lynch, 2002) and its
// latency refinement PACELC (Abadi, 2012): a model at least as strong as
// sequential consistency cannot stay available on both sides of a
// partition, and costs a round trip to a majority per operation even
// without one; causal consistency is the strongest model that can
// (Mahajan, Alvisi & Dahlin, "Consistency, availability, and convergence",
// 2011).
package recommend

import (
	"consist/checker"
)

// Requirements are what an application needs of its store.
type Requirements struct {
	// Strong: every read sees every write that completed before it began,
	// across clients (a bank balance, a lock, a unique username).
	Strong bool
	// StaleOK: reads may return older values for a while (a feed, a
	// cache, a view count).
	StaleOK bool
	// Causal: a reply is never seen before the message it answers; effects
	// never before their causes.
	Causal bool
	// Available: both sides of a network partition must keep serving
	// reads and writes.
	Available bool
	// Global: clients and replicas are spread over distant regions, so
	// every round trip between replicas is long.
	Global bool
	// WriteHeavy: writes dominate, and must be fast.
	WriteHeavy bool
}

// Recommendation is the advice.
type Recommendation struct {
	// Model is the recommended model.
	Model checker.Model `json:"model"`
	// Reasons say why this model, one sentence each.
	Reasons []string `json:"reasons"`
	// Considerations are the costs and caveats to weigh.
	Considerations []string `json:"considerations,omitempty"`
	// Store is the bundled store that provides the model, to try with
	// consist run.
	Store string `json:"store"`
	// Databases are settings of real databases that provide it.
	Databases []string `json:"databases"`
}

// Recommend picks the weakest model that meets req.
func Recommend(req Requirements) Recommendation {
	switch {
	case req.Strong:
		return strong(req)
	case req.Causal || (req.Available && !req.StaleOK):
		return causal(req)
	case req.StaleOK && req.WriteHeavy:
		return eventual(req)
	case req.StaleOK:
		return session(req)
	}
	return session(req)
}

func strong(req Requirements) Recommendation {
	r := Recommendation{
		Model: checker.Linearizable,
		Reasons: []string{
			"every read must see every write completed before it began, whichever replica serves it: that is linearizability (Herlihy & Wing, 1990)",
			"linearizability composes: each key can live on a different replica group and the whole stays linearizable",
		},
		Considerations: []string{
			"each write, and each read unless served under a leader lease, costs a round trip to a majority of replicas",
			"a replica cut off from the majority stops serving: the minority side of a partition is unavailable",
		},
		Store: "paxos",
		Databases: []string{
			"etcd with its default reads (linearizable, through the Raft quorum); not --consistency=s",
			"MySQL/MariaDB on a single primary, every read and write on the primary, at SERIALIZABLE for multi-row transactions",
			"Redis only as a single instance read and written on the primary, without failover: replication is asynchronous, so a failover loses acknowledged writes and replica reads are stale",
		},
	}
	if req.Available {
		r.Considerations = append(r.Considerations, "you also asked for availability under partitions: no linearizable (or even sequentially consistent) store can give it (the CAP theorem, Gilbert & Lynch 2002). If availability must win, causal consistency is the strongest model that can stay available; try consist recommend --causal --available")
	}
	if req.Global {
		r.Considerations = append(r.Considerations, "with replicas in distant regions every write waits for an inter-region round trip (tens to hundreds of milliseconds); keep the majority in one region, or accept causal consistency for the data that can take it")
	}
	if req.WriteHeavy {
		r.Considerations = append(r.Considerations, "a consensus log serialises writes through one leader: throughput is bounded by it; shard the keys over several groups")
	}
	if req.StaleOK {
		r.Considerations = append(r.Considerations, "you said stale reads are acceptable: if that holds for all of the data, a weaker model is cheaper — the strong requirement decided here")
	}
	return r
}

func causal(req Requirements) Recommendation {
	r := Recommendation{
		Model: checker.Causal,
		Reasons: []string{
			"causal consistency keeps effects after their causes — a reply never before its message — for every client",
			"it is the strongest model a store can keep while both sides of a partition serve reads and writes (Mahajan, Alvisi & Dahlin 2011)",
		},
		Considerations: []string{
			"concurrent writes to one key are seen in different orders until they converge; choose the convergence rule (last-writer-wins, or keep both as siblings) deliberately",
			"reads may be stale: a client does not see another's write until it has arrived, and nothing bounds how long that takes during a partition",
			"causal metadata (vector clocks, dependencies) grows with the number of replicas or clients",
		},
		Store:     "causal",
		Databases: []string{"none of etcd, Redis and MariaDB offers causal consistency as a setting: etcd and MariaDB are stronger but not available under partitions, Redis replicas are weaker; keep causal order in the application (session tokens carrying dependencies) or use a causal store"},
	}
	if !req.Causal {
		r.Reasons = append(r.Reasons, "you asked for availability under partitions without accepting arbitrary staleness: causal consistency is the most an available store can promise")
	}
	if req.Global {
		r.Reasons = append(r.Reasons, "with replicas in distant regions, causal consistency lets every region read and write locally and ship updates asynchronously")
	}
	return r
}

func session(req Requirements) Recommendation {
	r := Recommendation{
		Model: checker.PRAM,
		Reasons: []string{
			"stale reads are acceptable, so a client need not see other clients' latest writes",
			"the session guarantees — read-your-writes, monotonic reads, monotonic writes — keep one client's view sane: it sees its own writes, never goes back in time, and its writes apply in order; together they make PRAM",
		},
		Considerations: []string{
			"different clients may see writes in different orders, and one client's reply may be seen before the message it answers: if that matters, ask for --causal",
			"sticky sessions (a client bound to one replica) give these guarantees cheaply; a client that moves needs a session token",
		},
		Store: "session",
		Databases: []string{
			"Redis with every client reading from the primary (replicas only for failover)",
			"etcd with serializable reads (--consistency=s), each client pinned to one member: reads may be stale, writes are linearizable",
			"MySQL/MariaDB with read replicas, each client's reads pinned to one replica after its writes have replicated (GTID wait)",
		},
	}
	if req.Available {
		r.Considerations = append(r.Considerations, "available under partitions as long as a client's replica is on its side of the cut")
	}
	return r
}

func eventual(req Requirements) Recommendation {
	r := Recommendation{
		Model: checker.Convergence,
		Reasons: []string{
			"stale reads are acceptable and writes dominate: accept every write locally and replicate asynchronously; replicas converge once writes pause",
			"counters and sets merge without losing updates when they are CRDTs (Shapiro et al. 2011)",
		},
		Considerations: []string{
			"last-writer-wins silently discards concurrent writes, and node clocks decide which wins: keep siblings, or use CRDTs, where updates must not be lost",
			"no order is promised: a client may not even read its own write back; add session guarantees if it must",
		},
		Store: "eventual",
		Databases: []string{
			"Redis with reads from replicas (asynchronous replication)",
			"etcd and MariaDB are stronger than this; they cost more per write than the requirement asks",
		},
	}
	if req.Global || req.Available {
		r.Reasons = append(r.Reasons, "every region and every side of a partition keeps taking writes")
	}
	return r
}

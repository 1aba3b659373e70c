package histgen

import (
	"math"
	"math/rand/v2"
)

// staleStore is the Stale store: a primary holding every version of every
// register, each version with its writer's causal floor.
type staleStore struct {
	keys   int
	rng    *rand.Rand
	rate   float64
	maxLag int
	window int64
	// Per key: the value of each version (version 0 is the initial
	// value, 0), when it was installed, and its causal floor, version v's
	// at deps[k][v*keys : (v+1)*keys].
	vals [][]int64
	at   [][]int64
	deps [][]int32
}

func newStaleStore(cfg Config, rng *rand.Rand) *staleStore {
	s := &staleStore{
		keys:   cfg.Keys,
		rng:    rng,
		rate:   cfg.StaleRate,
		maxLag: cfg.MaxLag,
		window: int64(cfg.Delay),
		vals:   make([][]int64, cfg.Keys),
		at:     make([][]int64, cfg.Keys),
		deps:   make([][]int32, cfg.Keys),
	}
	for k := range s.vals {
		s.vals[k] = []int64{0}
		s.at[k] = []int64{math.MinInt64}
		s.deps[k] = make([]int32, cfg.Keys)
	}
	return s
}

func (s *staleStore) current(key, _ int, _ int64) int64 {
	v := s.vals[key]
	return v[len(v)-1]
}

func (s *staleStore) apply(o *op, floor []int32, t int64) {
	k := o.key
	cur := int32(len(s.vals[k]) - 1)
	switch o.f {
	case fRead:
		v := cur
		if s.rng.Float64() < s.rate {
			v = max(cur-int32(1+s.rng.IntN(s.maxLag)), floor[k])
			for v < cur && s.at[k][v+1] < t-s.window {
				v++ // overwritten too long ago to be read
			}
		}
		o.out = s.vals[k][v]
		s.observe(k, v, floor)
	case fWrite:
		s.install(k, o.val, floor, t)
	case fCAS:
		s.observe(k, cur, floor)
		o.ok = s.vals[k][cur] == o.exp
		if o.ok {
			s.install(k, o.val, floor, t)
		}
	}
}

// observe raises floor to the causal floor of version v of key k.
func (s *staleStore) observe(k int, v int32, floor []int32) {
	d := s.deps[k][int(v)*s.keys : (int(v)+1)*s.keys]
	for i, x := range d {
		floor[i] = max(floor[i], x)
	}
}

// install appends a version of key k written by a session with floor.
func (s *staleStore) install(k int, val int64, floor []int32, t int64) {
	n := int32(len(s.vals[k]))
	s.vals[k] = append(s.vals[k], val)
	s.at[k] = append(s.at[k], t)
	floor[k] = n
	s.deps[k] = append(s.deps[k], floor...)
}

// eventualStore is the Eventual store: replicas that exchange writes with
// random delays and keep the last writer's value.
type eventualStore struct {
	keys   int
	delay  int64
	drop   float64
	seed   uint64
	nextID uint64
	// writes holds, per key, every write in the order it took effect,
	// which is the order of ts.
	writes [][]ewrite
	// state holds replica r's view of key k at r*keys+k.
	state []replicaKey
}

// ewrite is a write to the Eventual store. Its deliveries' delays are
// derived from its id, so they need no storage.
type ewrite struct {
	ts     int64 // when it took effect; last writer wins on (ts, id)
	id     uint64
	val    int64
	origin int32 // the replica it took effect on
}

// replicaKey is a replica's settled view of one key: the newest of the
// writes before cursor that reached it. Writes from cursor on may still be
// in flight.
type replicaKey struct {
	cursor int
	best   ewrite
}

func newEventualStore(cfg Config) *eventualStore {
	e := &eventualStore{
		keys:   cfg.Keys,
		delay:  int64(cfg.Delay),
		drop:   cfg.DropRate,
		seed:   cfg.Seed,
		writes: make([][]ewrite, cfg.Keys),
		state:  make([]replicaKey, cfg.Replicas*cfg.Keys),
	}
	for i := range e.state {
		e.state[i].best.ts = math.MinInt64
	}
	return e
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// arrival returns when w reaches replica r, and false if it never does.
func (e *eventualStore) arrival(w *ewrite, r int) (int64, bool) {
	if int32(r) == w.origin {
		return w.ts, true
	}
	h := mix(e.seed ^ w.id*0x9e3779b97f4a7c15 ^ uint64(r+1)*0xd1b54a32d192ed03)
	if e.drop > 0 && float64(h>>11)/(1<<53) < e.drop {
		return 0, false
	}
	return w.ts + int64(mix(h)%uint64(e.delay+1)), true
}

func (w *ewrite) newer(than *ewrite) bool {
	return w.ts > than.ts || w.ts == than.ts && w.id > than.id
}

// value returns key k's value on replica r at t.
func (e *eventualStore) value(k, r int, t int64) int64 {
	st := &e.state[r*e.keys+k]
	ws := e.writes[k]
	for st.cursor < len(ws) && ws[st.cursor].ts <= t-e.delay {
		w := &ws[st.cursor] // every delivery of w has landed or been lost
		if _, ok := e.arrival(w, r); ok && w.newer(&st.best) {
			st.best = *w
		}
		st.cursor++
	}
	best := st.best
	for i := st.cursor; i < len(ws); i++ {
		w := &ws[i]
		if at, ok := e.arrival(w, r); ok && at <= t && w.newer(&best) {
			best = *w
		}
	}
	return best.val
}

func (e *eventualStore) current(key, r int, t int64) int64 { return e.value(key, r, t) }

func (e *eventualStore) apply(o *op, _ []int32, t int64) {
	switch o.f {
	case fRead:
		o.out = e.value(o.key, o.replica, t)
	case fWrite:
		e.write(o, t)
	case fCAS:
		o.ok = e.value(o.key, o.replica, t) == o.exp
		if o.ok {
			e.write(o, t)
		}
	}
}

func (e *eventualStore) write(o *op, t int64) {
	e.nextID++
	e.writes[o.key] = append(e.writes[o.key], ewrite{ts: t, id: e.nextID, val: o.val, origin: int32(o.replica)})
}

package recommend

import (
	"fmt"
	"slices"
	"strings"

	"consist/checker"
)

// This file answers the design notes' questions about transactions —
// money transfers, inventory, reports, and the doctors on call — with an
// isolation level. Each use case lists the anomalies the application
// cannot live with (Hazard); the level recommended is the weakest
// transactional model that rules out all of them, read off the anomaly
// taxonomy and the model lattice (checker.Kind.RulesOut, after Adya 1999
// and Elle's consistency_model.clj), not written down by hand. What each
// weaker level lets through follows the same way. The settings of
// MariaDB, etcd and Redis that provide the level are data beside it, each
// with the model it provides.

// UseCase is one application question about transactions.
type UseCase struct {
	// Name is what `consist recommend --use` takes.
	Name string `json:"name"`
	// Title names the application.
	Title string `json:"title"`
	// Question is what the application asks of its store.
	Question string `json:"question"`
	// Hazards are the anomalies the application cannot live with, each
	// with what it would do here.
	Hazards []Hazard `json:"hazards"`
	// Why are further reasons for the level, beyond the hazards.
	Why []string `json:"why,omitempty"`
	// Settings say how MariaDB, etcd and Redis provide the level.
	Settings []Setting `json:"settings"`
	// Considerations are costs and caveats.
	Considerations []string `json:"considerations,omitempty"`
}

// Hazard is an anomaly an application cannot live with.
type Hazard struct {
	// Kind is the anomaly, one of the taxonomy's.
	Kind checker.Kind `json:"kind"`
	// Name is its everyday name: lost update, write skew, read skew.
	Name string `json:"name"`
	// Example says what it does to this application.
	Example string `json:"example"`
}

// Setting is how one database provides a level.
type Setting struct {
	// Database is "MariaDB", "etcd" or "Redis".
	Database string `json:"database"`
	// Provides is the model the setting gives this use case's
	// transactions; it implies the level recommended.
	Provides checker.Model `json:"provides"`
	// Steps are the statements or calls, in order.
	Steps []string `json:"steps"`
	// Caveats are what to watch for.
	Caveats []string `json:"caveats,omitempty"`
}

// Weaker is a level weaker than the one recommended and the hazards it
// lets through.
type Weaker struct {
	Model  checker.Model `json:"model"`
	Allows []Hazard      `json:"allows"`
}

// Advice is the answer to one use case: the level, why (the weaker
// levels and what each lets through), and the settings.
type Advice struct {
	UseCase
	// Level is the weakest model that rules out every hazard.
	Level checker.Model `json:"level"`
	// Weaker are the levels databases name that are weaker than Level,
	// weakest first, each with the hazards it lets through.
	Weaker []Weaker `json:"weaker"`
}

// namedLevels are the isolation levels databases and the SQL standard
// name, weakest first: the levels a weaker-than-recommended answer is
// told against. Repeatable read is Adya's PL-2.99 here; what MariaDB
// calls REPEATABLE READ is weaker, and its settings say so.
var namedLevels = []checker.Model{checker.ReadUncommitted, checker.ReadCommitted, checker.RepeatableRead, checker.SnapshotIsolation, checker.Serializable}

// Hazards by kind, with the everyday names Berenson et al. ("A Critique
// of ANSI SQL Isolation Levels", SIGMOD 1995) and Adya give them.
func lostUpdate(example string) Hazard {
	return Hazard{checker.LostUpdate, "lost update", example}
}
func writeSkew(example string) Hazard { return Hazard{checker.G2Item, "write skew", example} }
func phantom(example string) Hazard {
	return Hazard{checker.G2, "write skew over a predicate (phantom)", example}
}
func readSkew(example string) Hazard {
	return Hazard{checker.GSingle, "read skew", example}
}
func dirtyRead(example string) Hazard {
	return Hazard{checker.G1, "dirty read", example}
}

// mariadbRR is what MariaDB's REPEATABLE READ is, by Jepsen's analysis of
// MySQL's (same InnoDB design) and MariaDB's own documentation.
const mariadbRR = "MariaDB's REPEATABLE READ (its default) is not Adya's repeatable read nor snapshot isolation: plain SELECTs read the transaction's snapshot, but UPDATE and SELECT ... FOR UPDATE read and lock the latest row; Jepsen's analysis of MySQL 8.0.34 (2023), the same InnoDB design, found lost update, read skew (G-single) and write skew (G2-item) at that level. innodb_snapshot_isolation=ON (present, off by default, in MariaDB 10.11; on by default in later series) makes it abort, with error 1020, a transaction that writes a row changed since its snapshot: that stops lost update, not write skew"

var useCases = []UseCase{
	{
		Name:     "transfers",
		Title:    "Money transfers between accounts",
		Question: "Move money between accounts so that none is created or lost, no account goes below its limit, and limits that span several rows (a customer's accounts together, a daily total) hold.",
		Hazards: []Hazard{
			dirtyRead("a transfer reads a balance another transfer wrote and then rolled back, and acts on money that never existed"),
			lostUpdate("two transfers out of one account both read 100 and write 100 minus their own amount: one debit vanishes and money is created"),
			writeSkew("a customer's two accounts may together go no lower than 0: two withdrawals, one from each account, each read both balances (50 and 50), each see enough, and each debit its own account by 80: -30 in total"),
			phantom("a daily limit: two transfers each sum today's transfers (SELECT SUM(amount) ... WHERE day = today), each see room for one more, and both insert theirs"),
		},
		Why: []string{
			"every check a transfer makes (balance, joint limit, daily limit) must still hold when it commits: that is serializability, and nothing weaker keeps all of them",
			"on one MariaDB primary, one etcd cluster or one Redis primary a serializable transaction is also strict serializable, so a customer who saw a transfer confirmed sees it in the next read",
		},
		Settings: []Setting{
			{Database: "MariaDB", Provides: checker.Serializable, Steps: []string{
				"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
				"START TRANSACTION;",
				"SELECT id, balance FROM accounts WHERE id IN (?, ?);",
				"UPDATE accounts SET balance = balance - ? WHERE id = ?;",
				"UPDATE accounts SET balance = balance + ? WHERE id = ?;",
				"COMMIT;  -- on error 1213 (deadlock) or 1205 (lock wait timeout), run the whole transaction again",
			}, Caveats: []string{
				"at SERIALIZABLE InnoDB makes every plain SELECT of a transaction a locking read (LOCK IN SHARE MODE), and range reads lock the gaps: two conflicting transfers deadlock and one is rolled back, so the application must retry",
				mariadbRR,
				"if you stay at REPEATABLE READ, read the rows with SELECT ... FOR UPDATE, in id order so two transfers do not deadlock: that stops lost update and write skew over those rows, but not the daily-limit phantom unless the SUM's range is locked too (FOR UPDATE on the range, through an index)",
			}},
			{Database: "etcd", Provides: checker.StrictSerializable, Steps: []string{
				"resp, _ := cli.Get(ctx, \"acct/\", clientv3.WithPrefix())  // linearizable read of every account at one revision; keep resp.Header.Revision as rev",
				"today, _ := cli.Get(ctx, \"transfers/<day>/\", clientv3.WithPrefix(), clientv3.WithRev(rev))  // the day's transfers at the same revision, for the daily limit",
				"cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(\"acct/\"), \"<\", rev+1).WithPrefix(), clientv3.Compare(clientv3.ModRevision(\"transfers/<day>/\"), \"<\", rev+1).WithPrefix()).Then(clientv3.OpPut(\"acct/A\", a-x), clientv3.OpPut(\"acct/B\", b+x), clientv3.OpPut(\"transfers/<day>/<id>\", x)).Commit()",
				"if !txnResp.Succeeded, some account changed since rev: read again and retry",
			}, Caveats: []string{
				"each Txn is one entry in the Raft log, applied whole on every member: guarded by the mod revisions of everything the transfer read, it is strictly serializable",
				"guard the keys read, not only those written: comparing the written keys alone lets write skew through",
				"a prefix compare sees changed and new keys, not deleted ones: mark a key as removed rather than deleting it",
			}},
			{Database: "Redis", Provides: checker.StrictSerializable, Steps: []string{
				"WATCH acct:A acct:B",
				"MGET acct:A acct:B  (check the balances in the client)",
				"MULTI",
				"DECRBY acct:A x",
				"INCRBY acct:B x",
				"EXEC  (a nil reply means a watched key changed: run it all again)",
				"or one Lua script, which runs with no other command between its steps: EVAL \"local a = tonumber(redis.call('GET', KEYS[1])) if a < tonumber(ARGV[1]) then return 0 end redis.call('DECRBY', KEYS[1], ARGV[1]) redis.call('INCRBY', KEYS[2], ARGV[1]) return 1\" 2 acct:A acct:B x",
			}, Caveats: []string{
				"only on the primary, and only without failover: replication is asynchronous, so a promoted replica can miss acknowledged transfers (WAIT narrows the window, it does not close it)",
				"MULTI without WATCH queues writes but checks nothing read before it: it gives atomicity, not isolation",
			}},
		},
		Considerations: []string{
			"serializable transactions abort and retry under contention: keep transfers short and retry them whole, never half",
		},
	},
	{
		Name:     "inventory",
		Title:    "Inventory: never sell stock that is gone",
		Question: "Decrement an item's stock on each order so that no unit is sold twice and the count never goes below zero.",
		Hazards: []Hazard{
			dirtyRead("an order reads a stock level another order lowered and then rolled back, and refuses a sale it could have made"),
			lostUpdate("two orders both read a stock of 1, both sell it and both write 0: one unit sold twice"),
		},
		Why: []string{
			"each order reads and writes one row per item, so the hazard is the lost update on that row: the weakest level that stops it is cursor stability (a lock on the row read until the transaction writes it), which SELECT ... FOR UPDATE gives at READ COMMITTED",
			"nothing here spans rows, so write skew cannot break the count: serializable would be safe too, at the cost of more aborts and locks",
		},
		Settings: []Setting{
			{Database: "MariaDB", Provides: checker.CursorStability, Steps: []string{
				"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;",
				"START TRANSACTION;",
				"SELECT stock FROM items WHERE id = ? FOR UPDATE;  -- locks the row and reads its latest version",
				"UPDATE items SET stock = stock - ? WHERE id = ?;",
				"COMMIT;",
				"or one statement, no transaction needed: UPDATE items SET stock = stock - ? WHERE id = ? AND stock >= ?;  -- one row changed: sold; none: not enough stock",
			}, Caveats: []string{
				"a plain SELECT then UPDATE loses updates at READ COMMITTED, and at MariaDB's REPEATABLE READ too unless innodb_snapshot_isolation is on: the FOR UPDATE (or the single conditional UPDATE) is what makes it safe",
				"an order of several items locks several rows: lock them in one order (by id) so two orders do not deadlock",
				"a rule across items (at most ten of a bundle in all carts) is a predicate: that needs SERIALIZABLE, as the transfers' daily limit does",
			}},
			{Database: "etcd", Provides: checker.StrictSerializable, Steps: []string{
				"resp, _ := cli.Get(ctx, \"stock/sku-42\")  // keep n and resp.Kvs[0].ModRevision as rev",
				"cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(\"stock/sku-42\"), \"=\", rev)).Then(clientv3.OpPut(\"stock/sku-42\", n-1)).Commit()",
				"if !txnResp.Succeeded, another order changed the stock: read again and retry",
			}, Caveats: []string{
				"a Put without the ModRevision guard is a blind write: two orders that read 1 both write 0",
			}},
			{Database: "Redis", Provides: checker.StrictSerializable, Steps: []string{
				"EVAL \"local n = tonumber(redis.call('GET', KEYS[1])) if n >= tonumber(ARGV[1]) then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return -1\" 1 stock:sku-42 1",
				"or WATCH stock:sku-42, GET stock:sku-42, MULTI, DECRBY stock:sku-42 1, EXEC (nil reply: retry)",
			}, Caveats: []string{
				"DECRBY alone never loses a decrement, but it goes below zero: the check and the decrement must be one script or one WATCHed transaction",
				"on the primary only; a failover can lose acknowledged decrements (asynchronous replication)",
			}},
		},
	},
	{
		Name:     "reports",
		Title:    "Reports over live data",
		Question: "Total balances, stock or orders while transfers and orders keep running, so that the report shows one state of the data that really existed.",
		Hazards: []Hazard{
			dirtyRead("the report counts a transfer that later rolled back"),
			readSkew("the report totals branch 1 (SELECT SUM(balance) ... WHERE branch = 1), then branch 2; between the two a transfer moves 10 from an account of branch 1 to one of branch 2: the report saw branch 1 before the debit and branch 2 after the credit, and the total is 10 too high"),
		},
		Why: []string{
			"a report only reads: it needs one consistent view of committed data (Adya's PL-2+, consistent view), which snapshot isolation gives every read-only transaction without taking a lock, so the report never blocks the writers",
		},
		Settings: []Setting{
			{Database: "MariaDB", Provides: checker.SnapshotIsolation, Steps: []string{
				"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
				"START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT;  -- one read view for every SELECT until COMMIT",
				"SELECT SUM(balance) FROM accounts;  SELECT COUNT(*) FROM transfers WHERE day = ?;  ...",
				"COMMIT;",
			}, Caveats: []string{
				"READ COMMITTED takes a new read view for every statement: two queries of one report can disagree (read skew); a single SELECT reads one view at READ COMMITTED and above (not at READ UNCOMMITTED)",
				"do not add FOR UPDATE or LOCK IN SHARE MODE to a report: those read the latest rows, not the snapshot, and block the writers",
				"snapshot isolation lets a read-only transaction see a state no serial order of the writers produces when the writers themselves skew (Fekete, O'Neil & O'Neil, 2004): if the report must match a serial history, run the writers at SERIALIZABLE",
			}},
			{Database: "etcd", Provides: checker.SnapshotIsolation, Steps: []string{
				"resp, _ := cli.Get(ctx, \"acct/\", clientv3.WithPrefix())  // every key under the prefix at one revision",
				"further reads of the same report: cli.Get(ctx, \"transfers/\", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision))",
				"to spare the quorum round trip, add clientv3.WithSerializable(): the member's local state, possibly behind, but still one committed revision",
			}, Caveats: []string{
				"WithRev reads fail once the revision is compacted: keep reports shorter than the compaction interval",
			}},
			{Database: "Redis", Provides: checker.StrictSerializable, Steps: []string{
				"MULTI",
				"MGET acct:A acct:B acct:C",
				"EXEC  (the reads run with no other client's command between them)",
				"or one Lua script that reads every key it totals",
			}, Caveats: []string{
				"separate GETs outside MULTI can each see a different state (read skew)",
				"a report read from a replica is behind the primary; run it on the primary when it must include every acknowledged write",
				"a long MULTI or script blocks every other client while it runs: Redis is single-threaded",
			}},
		},
	},
	{
		Name:     "on-call",
		Title:    "Doctors on call: at least two on every shift",
		Question: "Let a doctor go off call only if at least one other doctor stays on call for the shift (the design notes' write-skew example).",
		Hazards: []Hazard{
			writeSkew("Alice and Bob are the two on call; each reads both rows, sees two on call, and sets only their own row off call: no one is on call"),
			phantom("each counts the shift's doctors on call (SELECT COUNT(*) ... WHERE on_call), sees two, and goes off call: the rows each changed are not the rows the other read"),
		},
		Why: []string{
			"the check reads rows the transaction does not write: only serializability makes the other transaction's write conflict with the read",
		},
		Settings: []Setting{
			{Database: "MariaDB", Provides: checker.Serializable, Steps: []string{
				"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
				"START TRANSACTION;",
				"SELECT COUNT(*) FROM doctors WHERE shift = ? AND on_call;",
				"UPDATE doctors SET on_call = FALSE WHERE shift = ? AND name = ?;",
				"COMMIT;  -- on error 1213 (deadlock), run it again",
				"or at REPEATABLE READ: SELECT name FROM doctors WHERE shift = ? AND on_call FOR UPDATE;  -- locks the rows and, through an index on shift, the range, so the other doctor's transaction waits",
			}, Caveats: []string{
				"at MariaDB's REPEATABLE READ, and at snapshot isolation anywhere, the plain SELECT reads a snapshot: both doctors see two on call and both leave (write skew)",
				"FOR UPDATE locks the range only where an index covers the WHERE clause; at READ COMMITTED InnoDB takes no gap locks, so a doctor added to the shift meanwhile is not seen",
			}},
			{Database: "etcd", Provides: checker.StrictSerializable, Steps: []string{
				"resp, _ := cli.Get(ctx, \"oncall/shift-7/\", clientv3.WithPrefix())  // count those on call; rev := resp.Header.Revision",
				"cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(\"oncall/shift-7/\"), \"<\", rev+1).WithPrefix()).Then(clientv3.OpPut(\"oncall/shift-7/alice\", \"off\")).Commit()",
				"if !txnResp.Succeeded, someone on the shift changed since rev: read again and decide again",
			}, Caveats: []string{
				"guarding only alice's own key lets Bob's change through: the compare must cover every key the count read",
			}},
			{Database: "Redis", Provides: checker.StrictSerializable, Steps: []string{
				"keep the shift's on-call doctors in a set: oncall:shift-7",
				"EVAL \"if redis.call('SCARD', KEYS[1]) > 1 then return redis.call('SREM', KEYS[1], ARGV[1]) end return 0\" 1 oncall:shift-7 alice",
				"or WATCH oncall:shift-7, SCARD oncall:shift-7, MULTI, SREM oncall:shift-7 alice, EXEC (nil reply: decide again)",
			}, Caveats: []string{
				"with one key per doctor, WATCH every doctor's key the decision read, not only your own",
			}},
		},
	},
}

// UseCases returns the questions recommend answers, in order.
func UseCases() []UseCase { return slices.Clone(useCases) }

// UseCaseNames returns the names --use takes.
func UseCaseNames() []string {
	names := make([]string, len(useCases))
	for i, u := range useCases {
		names[i] = u.Name
	}
	return names
}

// Isolation answers the use case called name: the weakest level that
// rules out every hazard, and what each weaker named level lets through.
func Isolation(name string) (Advice, error) {
	for _, u := range useCases {
		if u.Name == name {
			return advise(u)
		}
	}
	return Advice{}, fmt.Errorf("unknown use case %q: use one of %s", name, strings.Join(UseCaseNames(), ", "))
}

// advise derives the level and the weaker levels of u from the taxonomy.
func advise(u UseCase) (Advice, error) {
	forbids := func(m checker.Model, h Hazard) bool { return slices.Contains(h.Kind.RulesOut(), m) }
	var fits []checker.Model
	for _, m := range checker.Models() {
		if !checker.Implies(m, checker.ReadUncommitted) {
			continue // not a transactional model
		}
		ok := true
		for _, h := range u.Hazards {
			if !forbids(m, h) {
				ok = false
				break
			}
		}
		if ok {
			fits = append(fits, m)
		}
	}
	var weakest []checker.Model
	for _, m := range fits {
		if !slices.ContainsFunc(fits, func(x checker.Model) bool { return x != m && checker.Implies(m, x) }) {
			weakest = append(weakest, m)
		}
	}
	if len(weakest) != 1 {
		return Advice{}, fmt.Errorf("use case %s: the models that rule out all its hazards have %d weakest (%v), want one", u.Name, len(weakest), weakest)
	}
	a := Advice{UseCase: u, Level: weakest[0]}
	for _, m := range namedLevels {
		if checker.Implies(m, a.Level) {
			continue
		}
		w := Weaker{Model: m}
		for _, h := range u.Hazards {
			if !forbids(m, h) {
				w.Allows = append(w.Allows, h)
			}
		}
		a.Weaker = append(a.Weaker, w)
	}
	return a, nil
}

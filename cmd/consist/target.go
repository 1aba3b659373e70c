package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	consistrun "consist/run"
	"consist/run/databases"
	"consist/run/target"
)

// targetFlags say which real database consist run tests, and how; each
// database's own settings are flags too (see addTargetFlags), read from
// the flag set.
type targetFlags struct {
	target, endpoints, cluster, clusterDir string
}

// passwordEnv names the environment variable etcd's and Redis's password
// is read from, so that it appears in no command line and no file.
const passwordEnv = "CONSIST_PASSWORD"

// addTargetFlags declares the flags of a --target run: the generic ones,
// and every registered database's settings.
func addTargetFlags(f *pflag.FlagSet, fl *targetFlags) {
	f.StringVar(&fl.target, "target", "", "test a real database instead of a bundled store: etcd, redis or mysql (MariaDB or MySQL)")
	f.StringVar(&fl.endpoints, "endpoints", "", "the database's addresses, host:port, comma-separated: etcd's members, or Redis's primary then its replicas (password, if any, from $"+passwordEnv+")")
	for _, d := range databases.All() {
		for _, s := range d.Settings {
			switch {
			case f.Lookup(s.Name) != nil: // another database's too
			case s.Bool:
				f.Bool(s.Name, s.Default == "true", s.Usage)
			default:
				f.String(s.Name, s.Default, s.Usage)
			}
		}
	}
	f.StringVar(&fl.cluster, "cluster", "", "local: test the local cluster consist cluster up started, or start one for the run and stop it after; faults need it")
	f.StringVar(&fl.clusterDir, "cluster-dir", "", "the local cluster's folder (default: as consist cluster uses)")
}

// targetConfig points cfg at the bundled store or the real database fl
// names.
func targetConfig(fl runFlags, cfg *consistrun.Config) error {
	if fl.target == "" {
		cfg.Store = fl.store
		return nil
	}
	db, err := databases.Lookup(fl.target)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	cfg.Database = db
	if fl.storeSet {
		cfg.Store = fl.store // refused by cfg.Validate: one of them
	}
	switch fl.cluster {
	case "":
	case "local":
		cfg.Local, cfg.ClusterDir = true, fl.clusterDir
	default:
		return usageError("--cluster %q: the only cluster consist runs is local", fl.cluster)
	}
	password := os.Getenv(passwordEnv)
	cfg.Conn = target.Conn{Endpoints: splitList(fl.endpoints), Password: password, Username: usernameFor(password),
		Settings: map[string]string{}}
	for _, s := range db.Settings {
		if f := lookupFlag(fl, s.Name); f != nil {
			cfg.Conn.Settings[s.Name] = f.Value.String()
		}
	}
	return nil
}

// lookupFlag returns the flag of consist run named name, if any.
func lookupFlag(fl runFlags, name string) *pflag.Flag {
	if fl.flags == nil {
		return nil
	}
	return fl.flags.Lookup(name)
}

// redactor returns how to write the value of the flag named name into
// run.json, when a database's setting says (a DSN loses its password).
func redactor(name string) func(string) string {
	for _, d := range databases.All() {
		for _, s := range d.Settings {
			if s.Name == name && s.Redact != nil {
				return s.Redact
			}
		}
	}
	return nil
}

// usernameFor is etcd's user when a password is given: root, unless
// CONSIST_USER says otherwise.
func usernameFor(password string) string {
	if password == "" {
		return ""
	}
	if u := os.Getenv("CONSIST_USER"); u != "" {
		return u
	}
	return "root"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

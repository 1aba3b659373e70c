package cluster

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodeState: no cluster.json panics the reader, and what it
// accepts names only the programs, folders and loopback addresses of the
// layout cluster up writes, and is accepted again once saved.
func FuzzDecodeState(f *testing.F) {
	dir := f.TempDir()
	for _, name := range Kinds() {
		st := state{Kind: name, Dir: dir, Members: layouts[name].Members(dir, 40000)}
		st.Members[0].PID, st.Members[0].Paused = 12345, true
		valid, err := json.Marshal(&st)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(valid)
		// Tampered: a program of the attacker's, a folder elsewhere.
		f.Add(bytes.Replace(valid, []byte(Binaries(name)[0]), []byte("/bin/sh"), 1))
		f.Add(bytes.Replace(valid, []byte(dir+"/"), []byte("/etc/"), 1))
	}
	for _, s := range []string{"", "null", "{}", `{"kind":"etcd"}`, `{"kind":"test","members":[null]}`,
		`{"kind":"test","dir":"` + dir + `","members":[{"addr":"127.0.0.1:65535"}]}`,
		`{"kind":"test","members":[{"addr":"127.0.0.1:-1"}]}`, `{"kind":"mariadb"} {}`, "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeState(dir, data)
		if err != nil {
			if !strings.Contains(err.Error(), "cluster.json") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for _, m := range c.Members {
			if !slices.Contains(Binaries(c.Kind), m.Path) {
				t.Fatalf("accepted a member running %q", m.Path)
			}
			if rel, err := filepath.Rel(dir, m.Dir); err != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("accepted a member in %q, outside %s", m.Dir, dir)
			}
			if !strings.HasPrefix(m.Addr, "127.0.0.1:") {
				t.Fatalf("accepted a member at %q", m.Addr)
			}
		}
		again, err := json.Marshal(&c.state)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeState(dir, again); err != nil {
			t.Fatalf("a state it accepted, saved, is refused: %v", err)
		}
	})
}

// TestDecodeStateRefusesTampering: a cluster.json as cluster up writes it
// is read; one that names another program, another folder or another
// address for a member is refused, naming the file.
func TestDecodeStateRefusesTampering(t *testing.T) {
	dir := t.TempDir()
	st := state{Kind: testKind, Dir: dir, Members: testLayout.Members(dir, 40000)}
	valid, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeState(dir, valid); err != nil {
		t.Fatalf("the state cluster up writes is refused: %v", err)
	}
	for what, bad := range map[string][]byte{
		"program": bytes.Replace(valid, []byte(redisServer), []byte("/bin/sh"), 1),
		"folder":  bytes.Replace(valid, []byte(dir+"/r2"), []byte("/etc"), 1),
		"address": bytes.Replace(valid, []byte("127.0.0.1:40001"), []byte("10.0.0.1:40001"), 1),
		"arg":     bytes.Replace(valid, []byte(`"--protected-mode","no"`), []byte(`"--protected-mode","no","--loadmodule","/tmp/x.so"`), 1),
		"unknown": bytes.Replace(valid, []byte(`"kind"`), []byte(`"cmd":"x","kind"`), 1),
	} {
		if bytes.Equal(bad, valid) {
			t.Fatalf("%s: the tampering changed nothing", what)
		}
		if _, err := decodeState(dir, bad); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "cluster.json")) {
			t.Errorf("a state with another %s: %v", what, err)
		}
	}
}

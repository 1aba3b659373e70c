package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeListensOnLoopbackOnly: an address other computers reach is
// refused unless --allow-remote says so, naming the reason.
func TestServeListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.168.1.10:8080", "example.com:8080"} {
		code, _, errOut := runCLI(t, "serve", "--store-dir", t.TempDir(), "--addr", addr)
		if code != exitBad || !strings.Contains(errOut, "listens beyond this machine") || !strings.Contains(errOut, "--allow-remote") {
			t.Errorf("--addr %s: exit %d, %s", addr, code, errOut)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.2:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("--addr %s refused: %v", addr, err)
		}
	}
	if code, _, errOut := runCLI(t, "serve", "--addr", "nonsense"); code != exitBad || !strings.Contains(errOut, "host:port") {
		t.Errorf("--addr nonsense: exit %d, %s", code, errOut)
	}
}

// TestServeServesAndStops serves a store folder on a free loopback port,
// fetches its listing, and stops cleanly when the context ends.
func TestServeServesAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- runServe(ctx, &stderr, serveFlags{storeDir: dir, addr: "127.0.0.1:0"}, func(a string) { addr <- a })
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	}
	resp, err := http.Get("http://" + a + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "No runs yet") {
		t.Errorf("GET /: %s\n%s", resp.Status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(stderr.String(), "serving "+dir+" at http://"+a+"/") {
		t.Errorf("stderr %q", stderr.String())
	}
}

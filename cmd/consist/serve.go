package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"consist/serve"
)

type serveFlags struct {
	storeDir, addr string
	remote         bool
}

func newServeCmd(stderr io.Writer) *cobra.Command {
	var fl serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Browse the runs of a store folder in a web browser",
		Long: `Serve lists the runs under the store folder, newest first, with their
store, workload, faults and verdict, each linking to its report
(report.html, or its results as text) and its history, as Jepsen's
lein run serve does. It serves only the files under the store folder.

It listens on loopback (127.0.0.1) unless --allow-remote is given: it has
no authentication and no TLS, and the runs it shows hold the databases'
addresses, the commands that tested them and every value they stored, so
anyone who can reach the port could read them. Ctrl-C stops it.`,
		Example: `  consist serve
  consist serve --store-dir runs --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), stderr, fl, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.storeDir, "store-dir", "store", "the folder the runs are under")
	f.StringVar(&fl.addr, "addr", "127.0.0.1:8080", "the address to listen on, host:port (port 0: any free port)")
	f.BoolVar(&fl.remote, "allow-remote", false, "allow an --addr other than loopback: anyone who reaches it reads every run, without a password")
	return cmd
}

// checkLoopback refuses an address other computers could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError("--addr %q: %v; write host:port, e.g. 127.0.0.1:8080", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usageError("--addr %s listens beyond this machine (only loopback, e.g. 127.0.0.1 or [::1], is the default): serve has no password and no TLS, and the runs hold the databases' addresses, commands and data; add --allow-remote if every network that reaches it may read them", addr)
}

// runServe serves until ctx ends; listening, when not nil, is told the
// address it listens on.
func runServe(ctx context.Context, stderr io.Writer, fl serveFlags, listening func(string)) error {
	if !fl.remote {
		if err := checkLoopback(fl.addr); err != nil {
			return err
		}
	}
	srv, err := serve.New(fl.storeDir)
	if err != nil {
		return &exitError{code: exitBad, err: err}
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", fl.addr)
	if err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("listen on %s: %w (pick another port with --addr)", fl.addr, err)}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "consist: serving %s at http://%s/ (Ctrl-C stops)\n", fl.storeDir, ln.Addr())
	if listening != nil {
		listening(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return &exitError{code: exitBad, err: fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return &exitError{code: exitBad, err: fmt.Errorf("stop serving: %w", err)}
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &exitError{code: exitBad, err: fmt.Errorf("serve: %w", err)}
	}
	return nil
}

// Command consist checks histories of concurrent operations against
// consistency models, in the Jepsen tradition.
//
// Exit codes: 0 every checked model valid; 1 some model invalid; 2 some
// verdict unknown and none invalid; 3 bad input or usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"consist/checker"
	"consist/cluster"
)

// The exit codes, as DESIGN.md fixes them.
const (
	exitValid   = 0
	exitInvalid = 1
	exitUnknown = 2
	exitBad     = 3
)

// exitError ends the command with a code; its message, if any, goes to
// standard error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func main() {
	if os.Getenv(cluster.GuardEnv) != "" {
		os.Exit(runGuard(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(signalContext(), os.Args[1:], os.Stdout, os.Stderr))
}

// signalContext returns a context that ends at the first Ctrl-C (or
// SIGTERM), which stops the command cleanly; a second one, with the
// default handling restored, kills it.
func signalContext() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, os.Stdin, stdout, stderr)
}

// runIO is run reading standard input from stdin.
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return exitValid
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "consist: %s\n", checker.Escape(ee.err.Error()))
		}
		return ee.code
	default: // cobra's usage errors: unknown flag, wrong arguments
		fmt.Fprintf(stderr, "consist: %s\nRun 'consist --help' for usage.\n", checker.Escape(err.Error()))
		return exitBad
	}
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "consist",
		Short: "Check histories of concurrent operations against consistency models",
		Long: `consist checks histories of concurrent operations — recorded by consist,
by Jepsen (EDN) or taken from Porcupine's test logs — against consistency
models, and explains every anomaly it finds.

Exit codes: 0 valid · 1 invalid · 2 unknown (none invalid) · 3 bad input or usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("consist {{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newCheckCmd(stdin, stdout, stderr), newRunCmd(stdout, stderr), newMatrixCmd(stdout, stderr), newRecommendCmd(stdout, stderr), newClusterCmd(stdout, stderr))
	root.AddCommand(newBenchCmd(stdout, stderr), newServeCmd(stderr), newShrinkCmd(stdout, stderr))
	return root
}

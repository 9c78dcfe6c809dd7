// Command failoverctl reads and changes a running failover plugin through its
// operator API: the state of every name, why a client gets the answer it
// gets, overrides, drains, temporary TTLs and failbacks held for an operator.
//
// Its exit codes are meant for deploy scripts:
//
//	0    success
//	1    the API refused the request (4xx); its message is on stderr
//	2    usage error
//	3    the API cannot be reached, or answered 5xx or something that is not its JSON
//	4    status --check: some name is failed over or some endpoint is down (an operator's override is neither)
//	5    a --wait ended before its time: the override or lowered TTL was cleared or changed
//	130  interrupted by SIGINT or SIGTERM
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes, as the package comment documents them.
const (
	exitOK          = 0
	exitRefused     = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitCheck       = 4
	exitWait        = 5
	exitInterrupted = 130
)

const (
	defaultAPI     = "http://127.0.0.1:8054"
	defaultTimeout = 5 * time.Second
)

const usageText = `usage: failoverctl [--api URL] [--token-file FILE] [--timeout 5s] COMMAND [ARGS]

Reads and changes a running failover plugin through its operator API.

Commands:
%s
Global flags (before the command):
  --api URL          the API's address (env FAILOVER_API, default ` + defaultAPI + `);
                     host:port without a scheme means http
  --token-file FILE  a file holding the bearer token (else env FAILOVER_TOKEN holds it)
  --timeout D        time limit of each request (default 5s)

NAME may be written with or without its final dot. Flags of a command may
stand before or after its arguments.

Exit codes:
  0    success
  1    the API refused the request (4xx); its message is on stderr
  2    usage error
  3    the API cannot be reached, or answered 5xx or something that is not its JSON
  4    status --check: some name is failed over or some endpoint is down
  5    a --wait ended before its time: the override or lowered TTL was cleared or changed
  130  interrupted by SIGINT or SIGTERM
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the whole command: args without the program's name, and the
// environment as a lookup, so that a test can run it in-process.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, getenv, stdout, stderr)
}

// runContext is run under a context whose end means the operator interrupted.
func runContext(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	s := &session{stdout: stdout, stderr: stderr}
	err := s.dispatch(ctx, args, getenv)
	if errors.Is(err, errHelped) {
		return exitOK
	}
	code := exitCode(ctx, err)
	switch {
	case err == nil:
	case code == exitInterrupted:
		fmt.Fprintln(stderr, "failoverctl: interrupted")
	default:
		fmt.Fprintf(stderr, "failoverctl: %v\n", err)
		var u *usageError
		if errors.As(err, &u) {
			if s.cmd != nil {
				fmt.Fprintf(stderr, "usage: failoverctl %s %s\n", s.cmd.name, s.cmd.args)
			} else {
				fmt.Fprintln(stderr, "run 'failoverctl --help' for usage")
			}
		}
	}
	return code
}

// session is one invocation: where it writes, the API it talks to, and the
// command it runs, which usage errors name.
type session struct {
	stdout, stderr io.Writer
	api            *client
	cmd            *command
}

func (s *session) dispatch(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("failoverctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	apiURL := fs.String("api", "", "")
	tokenFile := fs.String("token-file", "", "")
	timeout := fs.Duration("timeout", defaultTimeout, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(s.stdout)
			return nil
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		return usagef("no command given")
	}
	name := fs.Arg(0)
	if name == "help" {
		printUsage(s.stdout)
		return nil
	}
	s.cmd = lookup(name)
	if s.cmd == nil {
		return usagef("unknown command %q", name)
	}
	if *timeout <= 0 {
		return usagef("--timeout must be more than 0")
	}
	addr := *apiURL
	if addr == "" {
		addr = getenv("FAILOVER_API")
	}
	if addr == "" {
		addr = defaultAPI
	}
	token, err := readToken(*tokenFile, getenv)
	if err != nil {
		return err
	}
	s.api, err = newClient(addr, token, *timeout)
	if err != nil {
		return err
	}
	return s.cmd.run(ctx, s, fs.Args()[1:])
}

func printUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintf(w, usageText, b.String())
}

// readToken reads the token from the file if one is named, else from the
// environment; it never appears in a message, which may end up in a log.
func readToken(file string, getenv func(string) string) (string, error) {
	token := getenv("FAILOVER_TOKEN")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("reading the token file: %v", err)
		}
		token = string(b)
		if strings.TrimSpace(token) == "" {
			return "", usagef("token file %s is empty", file)
		}
	}
	token = strings.TrimSpace(token)
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return "", usagef("the token holds a character that a header cannot carry")
		}
	}
	return token, nil
}

// usageError is a command line that cannot be run as written.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// checkError is status --check finding something amiss.
type checkError struct{ msg string }

func (e *checkError) Error() string { return e.msg }

// waitError is a --wait that cannot reach its time because what it waited on went away.
type waitError struct{ msg string }

func (e *waitError) Error() string { return e.msg }

func exitCode(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	var (
		u  *usageError
		a  *apiError
		c  *checkError
		wt *waitError
	)
	switch {
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &wt):
		return exitWait
	case errors.As(err, &c):
		return exitCheck
	case errors.As(err, &a) && a.status < 500:
		return exitRefused
	default:
		return exitUnreachable
	}
}

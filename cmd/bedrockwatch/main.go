// Command bedrockwatch detects attacks on AWS Bedrock — LLMjacking, guardrail
// removal, invocation-logging tampering, prompt injection, model denial of
// service, suspicious fine-tuning and AWS CLI misuse — in CloudTrail, Bedrock
// model-invocation logs and endpoint process telemetry.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks errors in how the command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "the service: a Kafka consumer group that raises alerts exactly once", runRun},
		{"dev", "an embedded Kafka broker plus the service, for trying it with kcat", runDev},
		{"replay", "run the rules over files of telemetry; alerts as CloudEvents on stdout", runReplay},
		{"rules", "list, validate and test detection rules", runRules},
		{"alerts", "follow the alert topic and print each alert (read_committed)", runAlerts},
		{"bench", "measure throughput, latency and memory on generated traffic", runBench},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "bedrockwatch", version)
			return nil
		}},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, `bedrockwatch catches attacks on AWS Bedrock as they happen.

Usage:
  bedrockwatch <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "bedrockwatch <command> --help" for a command's flags. Every flag can also
be set with an environment variable BEDROCKWATCH_<FLAG> (dashes become
underscores: --state-dir is BEDROCKWATCH_STATE_DIR) or in the YAML file given
with --config; the command line wins over the environment, which wins over the
file.

Examples:
  bedrockwatch replay cloudtrail/*.json.gz invocations.jsonl > alerts.jsonl
  bedrockwatch rules test ./my-rules
`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status: 0 success, 1
// failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		mainUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "bedrockwatch %s: %v\nRun 'bedrockwatch %s --help' for usage.\n", c.name, err, c.name)
			return 2
		case errors.Is(err, errReported):
			return 1
		default:
			fmt.Fprintf(stderr, "bedrockwatch %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "bedrockwatch: unknown command %q\n\n", args[0])
	mainUsage(stderr)
	return 2
}

// errReported is returned by a command that has already told the user what
// failed; main only sets the exit status.
var errReported = errors.New("failure reported")

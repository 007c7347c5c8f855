package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/bedrockwatch/bedrockwatch/processor"
	"github.com/bedrockwatch/bedrockwatch/processor/rules"
)

const rulesHelp = `
Detection rules are YAML files, one rule per file: metadata (id, name, severity,
risk_score, threat mappings), an EQL query, and the rule's own test cases. The
built-in pack is embedded in the binary; a directory of your own rules adds to
it, and a rule with a built-in id replaces the built-in one.

  rules list [DIR]        the rules in force (built-in, plus DIR's)
  rules validate [DIR]    check every file; each problem with file:line:column
  rules test [DIR]        run every rule's test cases (built-in, plus DIR's);
                          each case runs with its events in the order listed
                          and, unless it says arrival: as_listed, reversed`

func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules", "rules list|validate|test [flags] [DIR]", rulesHelp, stderr)
	asJSON := fs.Bool("json", false, "list: print the rules as JSON")
	runRE := fs.String("run", "", "test: only rules whose id matches this regular expression")
	verbose := fs.Bool("v", false, "test: print every case, not only failures")
	if len(args) == 0 {
		fs.Usage()
		return usagef("name a subcommand: list, validate or test")
	}
	sub, rest := args[0], args[1:]
	if sub == "-h" || sub == "--help" {
		fs.Usage()
		return errHelp
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("at most one rules directory, got %q", fs.Args())
	}
	dir := fs.Arg(0)
	switch sub {
	case "list":
		rs, err := rules.Load(dir)
		if err != nil {
			printProblems(stderr, err)
			return errReported
		}
		return listRules(stdout, rs, *asJSON)
	case "validate":
		return validateRules(stdout, stderr, dir)
	case "test":
		var re *regexp.Regexp
		if *runRE != "" {
			var err error
			if re, err = regexp.Compile(*runRE); err != nil {
				return usagef("--run: %v", err)
			}
		}
		rs, err := rules.Load(dir)
		if err != nil {
			printProblems(stderr, err)
			return errReported
		}
		return testRules(ctx, stdout, rs, re, *verbose)
	}
	return usagef("unknown subcommand %q: want list, validate or test", sub)
}

func printProblems(w io.Writer, err error) {
	ps := rules.Problems(err)
	for _, p := range ps {
		fmt.Fprintln(w, p.Error())
	}
	fmt.Fprintf(w, "%d problem(s)\n", len(ps))
}

func listRules(w io.Writer, rs []*rules.Rule, asJSON bool) error {
	if asJSON {
		type item struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Kind      string `json:"kind"`
			Severity  string `json:"severity"`
			RiskScore int    `json:"risk_score"`
			Enabled   bool   `json:"enabled"`
			Origin    string `json:"origin"`
			Tests     int    `json:"tests"`
		}
		var items []item
		for _, r := range rs {
			items = append(items, item{r.ID, r.Name, r.Kind, r.Severity, r.RiskScore, r.IsEnabled(), r.Origin, len(r.Tests)})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tRISK\tTESTS\tFROM\tNAME")
	for _, r := range rs {
		id := r.ID
		if !r.IsEnabled() {
			id += " (disabled)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", id, r.Kind, r.Severity, r.RiskScore, len(r.Tests), r.Origin, r.Name)
	}
	return tw.Flush()
}

func validateRules(stdout, stderr io.Writer, dir string) error {
	var (
		rs  []*rules.Rule
		err error
	)
	if dir == "" {
		rs, err = rules.Builtin()
	} else {
		rs, err = rules.LoadDir(dir)
	}
	if err != nil {
		printProblems(stderr, err)
		return errReported
	}
	where := "built-in pack"
	if dir != "" {
		where = dir
	}
	fmt.Fprintf(stdout, "%d rule(s) in %s: valid\n", len(rs), where)
	return nil
}

func testRules(ctx context.Context, w io.Writer, rs []*rules.Rule, re *regexp.Regexp, verbose bool) error {
	cfg := processor.DefaultConfig()
	passed, failed := 0, 0
	for _, r := range rs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if re != nil && !re.MatchString(r.ID) {
			continue
		}
		if len(r.Tests) == 0 {
			fmt.Fprintf(w, "?    %s: no test cases\n", r.ID)
			continue
		}
		for _, res := range processor.RunRuleTests(r, cfg) {
			if res.Passed() {
				passed++
				if verbose {
					fmt.Fprintf(w, "ok   %s: %s\n", res.Rule, res.Case)
				}
				continue
			}
			failed++
			fmt.Fprintf(w, "FAIL %s: %s (%s:%d)\n", res.Rule, res.Case, res.File, res.Line)
			for _, f := range res.Failures {
				fmt.Fprintf(w, "       %s\n", strings.ReplaceAll(f, "\n", "\n       "))
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return errReported
	}
	return nil
}

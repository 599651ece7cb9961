package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/qbench/qbench/metrics/cli"
	"github.com/qbench/qbench/results"
	"github.com/qbench/qbench/results/report"
)

func init() {
	register(command{name: "runs", summary: "list the runs stored in a database", run: runRuns})
	register(command{name: "report", summary: "write an HTML report with plots and CSV/Markdown tables for a run", run: runReport})
	register(command{name: "compare", summary: "compare two runs task by task; exits 1 on a regression (nightly gate)", run: runCompare})
	register(command{name: "export", summary: "dump a run's samples or metrics as CSV or JSONL", run: runExport})
	register(command{name: "metric", summary: "compute a metric on files (bleu, chrf, rouge, bertscore, ece, ace, jsd, ...)", run: runMetric})
}

// errRegression makes compare exit with status 1 after printing its table.
var errRegression = errors.New("regression detected")

func openDB(path string) (*results.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database %s: %w (run 'qbench run --db %s ...' first, or pass --db)", path, err, path)
	}
	return results.Open(path)
}

// runArg resolves a run id argument; "" or "latest" is the latest run.
func runArg(db *results.DB, arg string) (int64, error) {
	if arg == "" || arg == "latest" {
		r, err := db.LatestRun()
		if err != nil {
			return 0, fmt.Errorf("no runs stored yet: %w", err)
		}
		return r.ID, nil
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return 0, usagef("run %q: want a run id (see 'qbench runs') or 'latest'", arg)
	}
	if _, err := db.Run(id); err != nil {
		return 0, fmt.Errorf("run %d: %w (see 'qbench runs')", id, err)
	}
	return id, nil
}

func runRuns(ctx context.Context, args []string) error {
	fs := newFlags("runs", "[--db qbench.db] [--json]")
	dbPath := fs.String("db", "qbench.db", "SQLite database")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openDB(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.Runs()
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(runs)
	}
	fmt.Printf("%5s  %-20s  %-11s  %-10s  %s\n", "run", "created (UTC)", "status", "qbench", "machine")
	for _, r := range runs {
		fmt.Printf("%5d  %-20s  %-11s  %-10s  %s (%d cores)\n", r.ID, r.Created.UTC().Format("2006-01-02 15:04:05"), r.Status, r.QbenchVersion, r.Machine.Hostname, r.Machine.Cores)
	}
	return nil
}

func runReport(ctx context.Context, args []string) error {
	fs := newFlags("report", "[RUN] --out DIR [--db qbench.db] [--baseline NAME] [--kernel-bench FILE.json]")
	dbPath := fs.String("db", "qbench.db", "SQLite database")
	out := fs.String("out", "", "output directory (created)")
	baseline := fs.String("baseline", "", "variant the others are compared with (default: the run's baseline)")
	kb := fs.String("kernel-bench", "", "kernel benchmark JSON (from 'qbench bench --kernels --json') to chart")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	db, err := openDB(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := runArg(db, fs.Arg(0))
	if err != nil {
		return err
	}
	res, err := report.Write(db, report.Options{Run: id, OutDir: *out, Baseline: *baseline, KernelBenchJSON: *kb})
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(os.Stderr, "note:", n)
	}
	fmt.Printf("report for run %d written to %s (%d files; open %s/index.html)\n", id, *out, len(res.Files), *out)
	return nil
}

func runCompare(ctx context.Context, args []string) error {
	fs := newFlags("compare", "BASE_RUN NEW_RUN | --against-latest [NEW_RUN] [--db qbench.db] [--threshold T] [--metric M] [--json]")
	dbPath := fs.String("db", "qbench.db", "SQLite database")
	against := fs.Bool("against-latest", false, "compare NEW_RUN (default: the latest run) with the latest finished run before it")
	thr := fs.Float64("threshold", 0, "regression margin in score units (0: derived from the measured noise of two baseline runs, else 0.01)")
	metric := fs.String("metric", "", "per-sample score to compare (default: each task's primary score)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openDB(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	var base, cur int64
	if *against {
		if cur, err = runArg(db, fs.Arg(0)); err != nil {
			return err
		}
		prev, err := db.LatestRunBefore(cur)
		if err != nil {
			return fmt.Errorf("no finished run before run %d to compare with: %w", cur, err)
		}
		base = prev.ID
	} else {
		if fs.NArg() != 2 {
			return usagef("give BASE_RUN and NEW_RUN, or --against-latest")
		}
		if base, err = runArg(db, fs.Arg(0)); err != nil {
			return err
		}
		if cur, err = runArg(db, fs.Arg(1)); err != nil {
			return err
		}
	}
	c, err := results.Compare(db, base, cur, results.CompareOptions{Metric: *metric, Threshold: *thr})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(c); err != nil {
			return err
		}
	} else if err := c.WriteText(os.Stdout); err != nil {
		return err
	}
	if c.Regression {
		return errRegression
	}
	return nil
}

// ggufFormat reports whether args ask for --format gguf and returns them
// without that flag: 'qbench export --format gguf' exports a model, not
// results, with the flags of 'qbench export-gguf'.
func ggufFormat(args []string) ([]string, bool) {
	var rest []string
	found := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "--format" || a == "-format") && i+1 < len(args) && args[i+1] == "gguf":
			found = true
			i++
		case a == "--format=gguf" || a == "-format=gguf":
			found = true
		default:
			rest = append(rest, a)
		}
	}
	return rest, found
}

func runExport(ctx context.Context, args []string) error {
	if rest, ok := ggufFormat(args); ok {
		return runExportGGUF(ctx, rest)
	}
	fs := newFlags("export", "[RUN] --format csv|jsonl [--what samples|metrics] [--db qbench.db]\n       qbench export --format gguf --model M [--type f16|q8_0|q4_0] --out FILE.gguf")
	dbPath := fs.String("db", "qbench.db", "SQLite database")
	format := fs.String("format", "jsonl", "csv or jsonl (results), or gguf (a model for llama.cpp: the flags of 'qbench export-gguf')")
	what := fs.String("what", "samples", "samples or metrics")
	if err := parse(fs, args); err != nil {
		return err
	}
	var w results.What
	switch *what {
	case "samples":
		w = results.ExportSamples
	case "metrics":
		w = results.ExportMetrics
	default:
		return usagef("--what %q: want samples or metrics", *what)
	}
	db, err := openDB(*dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := runArg(db, fs.Arg(0))
	if err != nil {
		return err
	}
	switch *format {
	case "csv":
		return results.ExportCSV(os.Stdout, db, id, w)
	case "jsonl":
		return results.ExportJSONL(os.Stdout, db, id, w)
	}
	return usagef("--format %q: want csv or jsonl", *format)
}

func runMetric(ctx context.Context, args []string) error {
	err := cli.Run(ctx, args, os.Stdout, os.Stderr)
	if err != nil && len(args) == 0 {
		return usageError{err.Error()}
	}
	return err
}

package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
)

func (c *cli) migrateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring tenants to the application's latest migration (or --to), in parallel, each at its old version or its new one",
		Long: "migrate applies the application's pending migrations to every tenant (or those --tenant names), --parallel at a\n" +
			"time, each tenant in one transaction where the database allows (on MySQL step by step, each step recorded).\n" +
			"Two runs at once share the tenants. A run cut short (Ctrl-C, a killed process) is finished by running it again.\n" +
			"With nothing to apply it reads the catalog once and touches no tenant.",
		Args: args(cobra.NoArgs),
	}
	var o tenantmap.MigrateOptions
	cmd.Flags().Int64Var(&o.Target, "to", 0, "the migration version to reach (default: the latest)")
	cmd.Flags().StringSliceVar(&o.Tenants, "tenant", nil, "migrate only these tenants (repeat, or separate with commas)")
	cmd.Flags().IntVar(&o.Parallel, "parallel", tenantmap.DefaultMigrateParallel, "tenants migrated at once")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print each tenant's statements; change nothing")
	cmd.Flags().IntVar(&o.Canary, "canary", 0, "migrate this many tenants first and stop if any fails")
	cmd.Flags().BoolVar(&o.StopOnError, "stop-on-error", false, "start no tenant after the first failure")
	progress := cmd.Flags().String("progress", "auto", "progress on standard error: auto (a bar on a terminal, else lines), bar, lines or none")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if o.Parallel < 1 {
			return usageError(errors.New("--parallel must be at least 1"))
		}
		mode := *progress
		switch mode {
		case "auto":
			mode = "lines"
			if f, ok := c.errOut.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				mode = "bar"
			}
		case "bar", "lines", "none":
		default:
			return usageError(fmt.Errorf("--progress %q: want auto, bar, lines or none", mode))
		}
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		if o.Target != 0 && !slices.ContainsFunc(db.Migrations(), func(m tenantmap.Migration) bool { return m.Version == o.Target }) {
			return usageError(fmt.Errorf("--to %d: no migration has version %d (the latest is %d)", o.Target, o.Target, latestVersion(db)))
		}
		p := newProgress(c.errOut, mode)
		if !o.DryRun {
			o.Progress = p.update
		}
		rep, err := db.Migrate(cmd.Context(), o)
		p.done()
		if err != nil && !errors.Is(err, tenantmap.ErrMigrationFailed) && cmd.Context().Err() == nil {
			return err // the run did not start: no report to print
		}
		idle := ""
		var ahead int
		if err == nil && len(rep.Tenants) == 0 && len(rep.Shared) == 0 {
			by, verr := versionsNow(cmd.Context(), db, o.Tenants)
			if verr != nil {
				return verr
			}
			idle, ahead = nothingToDo(by, rep.Target)
		}
		if c.asJSON {
			out := reportJSON(rep)
			out.Ahead = ahead
			if jerr := c.printJSON(out); jerr != nil {
				return jerr
			}
		} else if idle != "" {
			if !o.DryRun {
				idle += fmt.Sprintf(" (checked in %s)", rep.Elapsed.Round(10*time.Microsecond))
			}
			fmt.Fprintln(c.out, idle)
		} else if o.DryRun {
			c.printPlan(rep)
		} else {
			c.printSummary(rep)
		}
		if errors.Is(err, tenantmap.ErrMigrationFailed) {
			var missing []string
			for _, t := range rep.Tenants {
				if errors.Is(t.Err, tenantmap.ErrTenantNotFound) {
					missing = append(missing, strconv.Quote(t.Tenant))
				}
			}
			if len(missing) > 0 && len(missing) == rep.Count(tenantmap.ResultFailed)+rep.Count(tenantmap.ResultSkipped) {
				return fmt.Errorf("%w: %s", tenantmap.ErrTenantNotFound, strings.Join(missing, ", ")) // exit 4
			}
			return problems("%d tenants failed, %d not attempted: rerun after fixing them", rep.Count(tenantmap.ResultFailed), rep.Count(tenantmap.ResultSkipped))
		}
		return err
	}
	return cmd
}

// migrateJSON is a report as --json prints it.
type migrateJSON struct {
	Target    int64          `json:"target"`
	DryRun    bool           `json:"dry_run"`
	ElapsedMS int64          `json:"elapsed_ms"`
	Counts    map[string]int `json:"counts"`
	Shared    []resultJSON   `json:"shared"`
	Tenants   []resultJSON   `json:"tenants"`
	// Ahead counts the tenants past the target, which a run leaves as they
	// are (migrations only go forward).
	Ahead int `json:"ahead,omitempty"`
}

type resultJSON struct {
	Tenant     string   `json:"tenant,omitempty"`
	Table      string   `json:"table,omitempty"`
	From       int64    `json:"from"`
	To         int64    `json:"to"`
	Result     string   `json:"result"`
	ByOther    bool     `json:"by_other_runner,omitempty"`
	Error      string   `json:"error,omitempty"`
	Statements []string `json:"statements,omitempty"`
}

func reportJSON(rep *tenantmap.MigrateReport) migrateJSON {
	out := migrateJSON{Target: rep.Target, DryRun: rep.DryRun, ElapsedMS: rep.Elapsed.Milliseconds(), Counts: map[string]int{},
		Shared: []resultJSON{}, Tenants: []resultJSON{}}
	for _, r := range []tenantmap.MigrateResult{tenantmap.ResultMigrated, tenantmap.ResultCurrent, tenantmap.ResultFailed, tenantmap.ResultSkipped, tenantmap.ResultPlanned} {
		if n := rep.Count(r); n > 0 || r != tenantmap.ResultPlanned {
			out.Counts[string(r)] = n
		}
	}
	for _, s := range rep.Shared {
		out.Shared = append(out.Shared, resultJSON{Table: s.Table, From: s.From, To: s.To, Result: string(s.Result), Error: errText(s.Err), Statements: s.Statements})
	}
	for _, t := range rep.Tenants {
		out.Tenants = append(out.Tenants, resultJSON{Tenant: t.Tenant, From: t.From, To: t.To, Result: string(t.Result), ByOther: t.ByOther, Error: errText(t.Err), Statements: t.Statements})
	}
	return out
}

// printPlan prints a dry run: each shared table's and tenant's statements.
func (c *cli) printPlan(rep *tenantmap.MigrateReport) {
	for _, s := range rep.Shared {
		fmt.Fprintf(c.out, "-- shared table %s: %d → %d\n", s.Table, s.From, s.To)
		if s.Err != nil {
			fmt.Fprintf(c.out, "-- cannot be planned: %v\n", s.Err)
		}
		for _, stmt := range s.Statements {
			fmt.Fprintln(c.out, stmt+";")
		}
	}
	for _, t := range rep.Tenants {
		fmt.Fprintf(c.out, "-- tenant %s: %d → %d\n", t.Tenant, t.From, t.To)
		if t.Err != nil {
			fmt.Fprintf(c.out, "-- cannot be planned: %v\n", t.Err)
		}
		for _, stmt := range t.Statements {
			if strings.HasPrefix(stmt, "-- ") {
				fmt.Fprintln(c.out, stmt)
				continue
			}
			fmt.Fprintln(c.out, stmt+";")
		}
	}
	if len(rep.Tenants) == 0 && len(rep.Shared) == 0 {
		fmt.Fprintf(c.out, "nothing to migrate: every tenant is at version %d\n", rep.Target)
	}
}

// printSummary prints the results table, and the failed tenants.
func (c *cli) printSummary(rep *tenantmap.MigrateReport) {
	if len(rep.Tenants) == 0 && len(rep.Shared) == 0 {
		fmt.Fprintf(c.out, "nothing to migrate: every tenant is at version %d (checked in %s)\n", rep.Target, rep.Elapsed.Round(10*time.Microsecond))
		return
	}
	if bad := rep.Count(tenantmap.ResultFailed) + rep.Count(tenantmap.ResultSkipped); bad > 0 {
		fmt.Fprintf(c.out, "migrating to version %d: %d of %d tenants not there (%s)\n\n", rep.Target, bad, len(rep.Tenants), rep.Elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(c.out, "migrated to version %d in %s\n\n", rep.Target, rep.Elapsed.Round(time.Millisecond))
	}
	var rows [][]string
	for _, r := range []tenantmap.MigrateResult{tenantmap.ResultMigrated, tenantmap.ResultCurrent, tenantmap.ResultFailed, tenantmap.ResultSkipped} {
		rows = append(rows, []string{string(r), strconv.Itoa(rep.Count(r))})
	}
	rows = append(rows, []string{"total", strconv.Itoa(len(rep.Tenants))})
	_ = table(c.out, []string{"RESULT", "TENANTS"}, rows)
	if len(rep.Shared) > 0 {
		fmt.Fprintln(c.out)
		rows = rows[:0]
		for _, s := range rep.Shared {
			rows = append(rows, []string{s.Table, fmt.Sprintf("%d → %d", s.From, s.To), string(s.Result), errText(s.Err)})
		}
		_ = table(c.out, []string{"SHARED TABLE", "VERSIONS", "RESULT", "ERROR"}, rows)
	}
	rows = rows[:0]
	for _, t := range rep.Tenants {
		if t.Result == tenantmap.ResultFailed {
			rows = append(rows, []string{t.Tenant, strconv.FormatInt(t.From, 10), errText(t.Err)})
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(c.out)
		_ = table(c.out, []string{"FAILED TENANT", "AT VERSION", "ERROR"}, rows)
	}
}

func (c *cli) statusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show how many tenants are at each migration version, which are behind, and which failed",
		Args:  args(cobra.NoArgs),
	}
	check := cmd.Flags().Bool("check", false, "exit with 3 if any tenant is behind the latest version or its last migration failed")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		latest := latestVersion(db)
		byVersion := map[int64]int{}
		byStatus := map[tenantmap.TenantStatus]int{}
		type failed struct {
			Tenant  string `json:"tenant"`
			Version int64  `json:"migration_version"`
			Error   string `json:"error"`
		}
		fails := []failed{}
		behind := 0
		after := ""
		for {
			page, next, err := db.Tenants().List(cmd.Context(), tenantmap.ListOptions{After: after, Limit: 10_000})
			if err != nil {
				return err
			}
			for _, t := range page {
				byStatus[t.Status]++
				if t.Status == tenantmap.StatusDropped {
					continue
				}
				byVersion[t.MigrationVersion]++
				if t.MigrationVersion < latest {
					behind++
				}
				if t.LastError != "" {
					fails = append(fails, failed{t.ID, t.MigrationVersion, t.LastError})
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		versions := make([]int64, 0, len(byVersion))
		for v := range byVersion {
			versions = append(versions, v)
		}
		sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
		if c.asJSON {
			vs := map[string]int{}
			for v, n := range byVersion {
				vs[strconv.FormatInt(v, 10)] = n
			}
			if err := c.printJSON(map[string]any{"latest": latest, "versions": vs, "statuses": byStatus, "behind": behind, "failed": fails}); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(c.out, "latest migration: %d\n\n", latest)
			var rows [][]string
			for _, v := range versions {
				mark := ""
				if v < latest {
					mark = "behind"
				}
				rows = append(rows, []string{strconv.FormatInt(v, 10), strconv.Itoa(byVersion[v]), mark})
			}
			_ = table(c.out, []string{"VERSION", "TENANTS", ""}, rows)
			fmt.Fprintf(c.out, "\nactive %d, suspended %d, dropped %d (kept until purged); behind %d, failed %d\n",
				byStatus[tenantmap.StatusActive], byStatus[tenantmap.StatusSuspended], byStatus[tenantmap.StatusDropped], behind, len(fails))
			if len(fails) > 0 {
				rows = rows[:0]
				for _, f := range fails {
					rows = append(rows, []string{f.Tenant, strconv.FormatInt(f.Version, 10), oneLine(f.Error)})
				}
				fmt.Fprintln(c.out)
				_ = table(c.out, []string{"FAILED TENANT", "AT VERSION", "LAST ERROR"}, rows)
			}
		}
		if *check && (behind > 0 || len(fails) > 0) {
			return problems("%d tenants behind version %d, %d failed", behind, latest, len(fails))
		}
		return nil
	}
	return cmd
}

func (c *cli) driftCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Compare each tenant's live schema with what its models and version say; exit 3 if any differs",
		Args:  args(cobra.NoArgs),
	}
	var o tenantmap.DriftOptions
	cmd.Flags().StringSliceVar(&o.Tenants, "tenant", nil, "check only these tenants")
	cmd.Flags().IntVar(&o.Parallel, "parallel", tenantmap.DefaultMigrateParallel, "tenants checked at once")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		drift, err := db.Drift(cmd.Context(), o)
		if err != nil {
			return err
		}
		drifted, failed := 0, 0
		type diffJSON struct {
			Kind   tenantmap.DiffKind `json:"kind"`
			Model  string             `json:"model,omitempty"`
			Table  string             `json:"table,omitempty"`
			Column string             `json:"column,omitempty"`
			Want   string             `json:"want,omitempty"`
			Have   string             `json:"have,omitempty"`
		}
		type tenantDriftJSON struct {
			Tenant           string     `json:"tenant"`
			MigrationVersion int64      `json:"migration_version"`
			Latest           int64      `json:"latest"`
			Differences      []diffJSON `json:"differences"`
			Error            string     `json:"error,omitempty"`
		}
		out := []tenantDriftJSON{}
		var rows [][]string
		for _, d := range drift {
			j := tenantDriftJSON{Tenant: d.Tenant, MigrationVersion: d.MigrationVersion, Latest: d.Latest, Differences: []diffJSON{}, Error: errText(d.Err)}
			if d.Err != nil {
				failed++
				rows = append(rows, []string{d.Tenant, "error", oneLine(d.Err.Error())})
			}
			if len(d.Differences) > 0 {
				drifted++
			}
			for _, x := range d.Differences {
				j.Differences = append(j.Differences, diffJSON(x))
				rows = append(rows, []string{d.Tenant, string(x.Kind), x.String()})
			}
			out = append(out, j)
		}
		if c.asJSON {
			if err := c.printJSON(out); err != nil {
				return err
			}
		} else {
			if len(rows) > 0 {
				_ = table(c.out, []string{"TENANT", "DIFFERENCE", "DETAIL"}, rows)
				fmt.Fprintln(c.out)
			}
			fmt.Fprintf(c.out, "%d tenants checked: %d with drift, %d could not be checked\n", len(drift), drifted, failed)
		}
		if drifted > 0 || failed > 0 {
			return problems("%d tenants with drift, %d could not be checked", drifted, failed)
		}
		return nil
	}
	return cmd
}

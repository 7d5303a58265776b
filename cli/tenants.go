package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
)

func (c *cli) tenantsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Create, list, show, suspend, resume, drop, restore, purge, clone, export and import tenants",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError(fmt.Errorf("tenants needs a subcommand; see %s tenants --help", c.app.Name))
		},
	}
	cmd.AddCommand(c.createCommand(), c.listCommand(), c.showCommand(),
		c.statusChange("suspend", "Stop every call for a tenant until it is resumed; nothing else changes", (*tenantmap.Tenants).Suspend),
		c.statusChange("resume", "Let a suspended tenant's calls through again", (*tenantmap.Tenants).Resume),
		c.statusChange("restore", "Bring back a tenant dropped with a retention window, before it is purged", (*tenantmap.Tenants).Restore),
		c.dropCommand(), c.purgeCommand(), c.cloneCommand(), c.exportCommand(), c.importCommand())
	return cmd
}

// placementFlag adds --placement to cmd, and returns what opens the
// database for it: the flag is read first, so that a bad one is a usage
// error before any database is opened.
func (c *cli) placementFlag(cmd *cobra.Command) func(ctx context.Context) (*tenantmap.DB, []tenantmap.CreateOption, error) {
	p := cmd.Flags().String("placement", "", "place the tenant by this strategy instead of each model's own: table, schema, database or shared, optionally\n:TEMPLATE with {tenant} and, for table and shared, {model} (table:t_{tenant}_{model}); see models")
	return func(ctx context.Context) (*tenantmap.DB, []tenantmap.CreateOption, error) {
		var opts []tenantmap.CreateOption
		if *p != "" {
			s, err := tenantmap.ParseStrategy(*p)
			if err != nil {
				return nil, nil, usageError(err)
			}
			opts = append(opts, tenantmap.WithPlacement(s))
		}
		db, err := c.openCreating(ctx)
		return db, opts, err
	}
}

func (c *cli) createCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create ID...",
		Short: "Create tenants, with every registered model's tables, at the latest migration version",
		Args:  args(cobra.MinimumNArgs(1)),
	}
	openPlaced := c.placementFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, ids []string) error {
		// Every id is checked before anything is opened or made: one bad id
		// creates none, and each id's fault is reported.
		results := make([]createResult, len(ids))
		var invalid []error
		for i, id := range ids {
			results[i].ID = id
			if err := tenantmap.ValidateTenantID(id); err != nil {
				results[i].err = err
				invalid = append(invalid, err)
			}
		}
		if len(invalid) > 0 {
			for i := range results {
				if results[i].err == nil {
					results[i].err = errNotAttempted
				}
			}
			err := usageError(fmt.Errorf("%w: %d of %d ids invalid; no tenant was created", tenantmap.ErrInvalidTenantID, len(invalid), len(ids)))
			if len(ids) == 1 {
				err = usageError(invalid[0])
			}
			return c.reportCreated(results, err)
		}
		db, opts, err := openPlaced(cmd.Context())
		if err != nil {
			return err
		}
		var first error
		failed := 0
		for i, id := range ids {
			t, err := db.Tenants().Create(cmd.Context(), id, opts...)
			if err != nil {
				results[i].err = createHint(cmd.Context(), db, id, err)
				failed++
				if first == nil {
					first = err
				}
				continue
			}
			tj := toJSON(t)
			results[i].tenantJSON = &tj
		}
		if failed == 0 {
			return c.reportCreated(results, nil)
		}
		if len(ids) == 1 {
			return c.reportCreated(results, results[0].err)
		}
		return c.reportCreated(results, &exitError{ExitCode(first), fmt.Errorf("%d of %d tenants not created", failed, len(ids))})
	}
	return cmd
}

func (c *cli) listCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tenants in id order",
		Args:  args(cobra.NoArgs),
	}
	status := cmd.Flags().String("status", "", "only tenants with this status: active, suspended or dropped")
	after := cmd.Flags().String("after", "", "start after this id")
	limit := cmd.Flags().Int("limit", 0, "at most this many (default: all)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch tenantmap.TenantStatus(*status) {
		case "", tenantmap.StatusActive, tenantmap.StatusSuspended, tenantmap.StatusDropped:
		default:
			return usageError(fmt.Errorf("--status %q: want active, suspended or dropped", *status))
		}
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		var all []tenantmap.Tenant
		cursor := *after
		for {
			page := 1000
			if *limit > 0 {
				page = min(page, *limit-len(all))
			}
			ts, next, err := db.Tenants().List(cmd.Context(), tenantmap.ListOptions{After: cursor, Limit: page, Status: tenantmap.TenantStatus(*status)})
			if err != nil {
				return err
			}
			all = append(all, ts...)
			if next == "" || *limit > 0 && len(all) >= *limit {
				break
			}
			cursor = next
		}
		if c.asJSON {
			out := make([]tenantJSON, 0, len(all))
			for _, t := range all {
				out = append(out, toJSON(t))
			}
			return c.printJSON(out)
		}
		rows := make([][]string, 0, len(all))
		for _, t := range all {
			rows = append(rows, []string{t.ID, string(t.Status), strconv.FormatInt(t.MigrationVersion, 10), timeText(t.CreatedAt), oneLine(t.LastError)})
		}
		return table(c.out, []string{"ID", "STATUS", "SCHEMA", "CREATED", "LAST ERROR"}, rows)
	}
	return cmd
}

func (c *cli) showCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a tenant: its status, versions and where each of its models lives",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			db, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			t, err := db.Tenants().Get(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			ps, err := db.Tenants().Placements(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			if c.asJSON {
				type placementJSON struct {
					Model    string `json:"model"`
					Strategy string `json:"strategy"`
					Database string `json:"database,omitempty"`
					Schema   string `json:"schema,omitempty"`
					Table    string `json:"table"`
				}
				out := struct {
					tenantJSON
					Placements []placementJSON `json:"placements"`
				}{tenantJSON: toJSON(t)}
				for _, p := range ps {
					out.Placements = append(out.Placements, placementJSON(p))
				}
				return c.printJSON(out)
			}
			fmt.Fprintf(c.out, "id:                %s\nkey:               %s\nstatus:            %s\nmigration version: %d (latest %d)\nversion:           %d\ncreated:           %s\n",
				t.ID, t.Key, t.Status, t.MigrationVersion, latestVersion(db), t.Version, timeText(t.CreatedAt))
			if !t.PurgeAfter.IsZero() {
				fmt.Fprintf(c.out, "purge after:       %s\n", timeText(t.PurgeAfter))
			}
			if t.LastError != "" {
				fmt.Fprintf(c.out, "last error:        %s\n", t.LastError)
			}
			fmt.Fprintln(c.out)
			rows := make([][]string, 0, len(ps))
			for _, p := range ps {
				rows = append(rows, []string{p.Model, p.Strategy, dash(p.Database), dash(p.Schema), p.Table})
			}
			return table(c.out, []string{"MODEL", "STRATEGY", "DATABASE", "SCHEMA", "TABLE"}, rows)
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// latestVersion is the latest migration the application registered.
func latestVersion(db *tenantmap.DB) int64 {
	ms := db.Migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// statusChange is suspend, resume or restore.
func (c *cli) statusChange(name, short string, change func(*tenantmap.Tenants, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " ID...",
		Short: short,
		Args:  args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ids []string) error {
			db, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			var done []tenantJSON
			for _, id := range ids {
				if err := change(db.Tenants(), cmd.Context(), id); err != nil {
					return err
				}
				t, err := db.Tenants().Get(cmd.Context(), id)
				if err != nil {
					return err
				}
				done = append(done, toJSON(t))
				if !c.asJSON {
					fmt.Fprintf(c.out, "%s: %s\n", id, t.Status)
				}
			}
			if c.asJSON {
				return c.printJSON(done)
			}
			return nil
		},
	}
}

func (c *cli) dropCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drop ID --confirm ID",
		Short: "Drop a tenant: softly, kept for --retain until purged (the default), or at once with --retain 0",
		Args:  args(cobra.ExactArgs(1)),
	}
	confirm := cmd.Flags().String("confirm", "", "the same tenant id again, to confirm (required)")
	retain := cmd.Flags().Duration("retain", 7*24*time.Hour, "keep the tenant's data this long, until purge; 0 drops it at once")
	_ = cmd.MarkFlagRequired("confirm")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		id := a[0]
		if *confirm != id {
			return usageError(fmt.Errorf("--confirm %q does not name the tenant %q", *confirm, id))
		}
		if *retain < 0 {
			return usageError(fmt.Errorf("--retain %s: want 0 (drop now) or a positive duration", *retain))
		}
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		var opts []tenantmap.DropOption
		if *retain > 0 {
			opts = append(opts, tenantmap.Retain(*retain))
		}
		if err := db.Tenants().Drop(cmd.Context(), id, tenantmap.ConfirmDrop(*confirm), opts...); err != nil {
			return err
		}
		result := map[string]any{"id": id, "dropped": true}
		msg := id + ": dropped"
		if *retain > 0 {
			t, err := db.Tenants().Get(cmd.Context(), id)
			if err != nil {
				return err
			}
			result["purge_after"] = t.PurgeAfter
			msg += ", kept until " + timeText(t.PurgeAfter) + " (restore brings it back; purge removes it after that)"
		}
		if c.asJSON {
			return c.printJSON(result)
		}
		fmt.Fprintln(c.out, msg)
		return nil
	}
	return cmd
}

func (c *cli) purgeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Remove for good the dropped tenants whose retention has ended",
		Args:  args(cobra.NoArgs),
	}
	at := cmd.Flags().String("now", "", "purge as of this time (RFC 3339) instead of now")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		now := time.Now()
		if *at != "" {
			var err error
			if now, err = time.Parse(time.RFC3339, *at); err != nil {
				return usageError(fmt.Errorf("--now: %w", err))
			}
		}
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		purged, err := db.Tenants().Purge(cmd.Context(), now)
		if c.asJSON {
			if purged == nil {
				purged = []string{}
			}
			if jerr := c.printJSON(map[string]any{"purged": purged}); jerr != nil {
				return jerr
			}
		} else {
			for _, id := range purged {
				fmt.Fprintf(c.out, "purged %s\n", id)
			}
			if len(purged) == 0 && err == nil {
				fmt.Fprintln(c.out, "nothing to purge")
			}
		}
		return err
	}
	return cmd
}

func (c *cli) cloneCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clone SOURCE NEW",
		Short: "Create tenant NEW as a copy of SOURCE, every row of every model",
		Args:  args(cobra.ExactArgs(2)),
	}
	openPlaced := c.placementFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		db, opts, err := openPlaced(cmd.Context())
		if err != nil {
			return err
		}
		st, err := db.Tenants().Clone(cmd.Context(), a[0], a[1], opts...)
		if err != nil {
			return err
		}
		return c.transferred("cloned "+a[0]+" into "+a[1], st)
	}
	return cmd
}

func (c *cli) transferred(what string, st tenantmap.TransferStats) error {
	if c.asJSON {
		return c.printJSON(map[string]any{"models": st.Models, "rows": st.Rows})
	}
	fmt.Fprintf(c.out, "%s: %d rows of %d models\n", what, st.Rows, st.Models)
	return nil
}

func (c *cli) exportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export ID",
		Short: "Write a tenant's rows, every model, to a portable file (JSON lines)",
		Args:  args(cobra.ExactArgs(1)),
	}
	file := cmd.Flags().StringP("output", "o", "-", "the file to write; - for standard output")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		var w io.Writer = c.out
		var f *os.File
		if *file != "-" {
			if f, err = os.OpenFile(*file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
				return err
			}
			w = f
		}
		st, err := db.Tenants().Export(cmd.Context(), a[0], w)
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(*file) // no half-written export is left to be imported
			}
		}
		if err != nil || f == nil {
			return err
		}
		return c.transferred("exported "+a[0]+" to "+*file, st)
	}
	return cmd
}

func (c *cli) importCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import ID",
		Short: "Create tenant ID from an export file, all or nothing",
		Args:  args(cobra.ExactArgs(1)),
	}
	file := cmd.Flags().StringP("input", "i", "-", "the file to read; - for standard input")
	openPlaced := c.placementFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		db, opts, err := openPlaced(cmd.Context())
		if err != nil {
			return err
		}
		var r io.Reader = bufio.NewReader(cmd.InOrStdin())
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		st, err := db.Tenants().Import(cmd.Context(), a[0], r, opts...)
		if err != nil {
			return err
		}
		return c.transferred("imported "+a[0], st)
	}
	return cmd
}

// Package cli is tenantctl, tenantmap's command-line tool, as a library: the
// cobra commands that create, list, suspend, drop, clone, export and import
// tenants, migrate them, and report their status and drift.
//
// The migrations a tenantctl runs are an application's own, so the
// commands are built from an App that registers the application's models
// and migrations. cmd/tenantctl is one such binary, for the example
// application; an application embeds the same commands in its own binary:
//
//	root := &cobra.Command{Use: "myapp"}
//	admin := cli.Command(cli.App{Name: "myapp admin", Setup: myapp.Setup})
//	admin.Use = "admin"
//	root.AddCommand(admin)
//
// # Exit codes
//
// Scripts can rely on them:
//
//	0  success
//	1  the command failed (the database is unreachable, a tenant could not be made, …)
//	2  usage: an unknown command or flag, a missing or malformed argument
//	3  the command ran and found problems: tenants failed to migrate or were
//	   not attempted, drift, or (status --check) tenants behind or failed
//	4  no such tenant
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
)

// App is what an application gives the commands: its name, where its
// database is by default, and how to register its models and migrations.
type App struct {
	// Name is the command's name in help and messages ("tenantctl").
	Name string
	// DefaultURL is the database used when neither --url nor TENANTMAP_URL
	// names one (DefaultURL if "").
	DefaultURL string
	// Configure, if set, changes the configuration before the database is
	// opened (row-level security, connection caps, …).
	Configure func(cfg *tenantmap.Config) error
	// Setup registers the application's models and migrations on a freshly
	// opened DB.
	Setup func(db *tenantmap.DB) error
}

// DatabaseURL is the database the commands use given their --url flag:
// flag if not "", else $TENANTMAP_URL, else the App's DefaultURL, else
// DefaultURL. An application's own commands call it so that they open the
// same database as its tenant commands.
func (app App) DatabaseURL(flag string) string {
	if flag != "" {
		return flag
	}
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return orDefault(app.DefaultURL, DefaultURL)
}

// DefaultURL is the embedded SQLite file the commands use unless told
// otherwise.
const DefaultURL = "sqlite:tenantmap.db"

// EnvURL is the environment variable that names the database when --url
// does not.
const EnvURL = "TENANTMAP_URL"

// The exit codes; see the package documentation.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitProblems = 3
	ExitNotFound = 4
)

// exitError carries an exit code other than ExitError.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{ExitUsage, err} }

// problems is the error of a command that ran and found problems; its
// report has been printed already.
func problems(format string, args ...any) error {
	return &exitError{ExitProblems, fmt.Errorf(format, args...)}
}

// ExitCode is the exit code for err, as Main exits with it.
func ExitCode(err error) int {
	var e *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &e):
		return e.code
	case errors.Is(err, tenantmap.ErrTenantNotFound):
		return ExitNotFound
	case errors.Is(err, tenantmap.ErrInvalidTenantID), errors.Is(err, tenantmap.ErrInvalidURL):
		return ExitUsage
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.Contains(err.Error(), "arg(s)"), strings.HasPrefix(err.Error(), "required flag"):
		return ExitUsage
	}
	return ExitError
}

// Main runs the commands with the process's arguments and exits with
// their exit code. SIGINT and SIGTERM cancel the command's context: a
// migration stops between tenants' transactions, each tenant at its old
// version or its new one.
func Main(app App) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := Command(app)
	ran, err := cmd.ExecuteContextC(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd.Name(), err)
		if ExitCode(err) == ExitUsage && ran != nil {
			line := ran.UseLine()
			if ran.HasAvailableSubCommands() {
				line = ran.CommandPath() + " COMMAND [flags]"
			}
			fmt.Fprintf(os.Stderr, "usage: %s\nrun '%s --help' for more\n", line, ran.CommandPath())
		}
	}
	os.Exit(ExitCode(err))
}

// cli is one invocation: its flags and its open database.
type cli struct {
	app    App
	url    string
	asJSON bool
	pooler bool
	db     *tenantmap.DB
	out    io.Writer
	errOut io.Writer
}

// Command returns the root command with every subcommand: tenants,
// migrate, status, drift. Errors are returned, not printed: Main prints
// them; an embedding application does as it likes.
func Command(app App) *cobra.Command {
	if app.Name == "" {
		app.Name = "tenantctl"
	}
	c := &cli{app: app}
	root := &cobra.Command{
		Use:   app.Name,
		Short: "Manage the tenants of a tenantmap database: lifecycle, migrations, status, drift",
		Long: app.Name + " manages the tenants of a tenantmap database: creates, lists, suspends, drops, clones, exports\n" +
			"and imports them, migrates them to the application's latest schema, and reports their status and drift.\n\n" +
			"The database is --url, else $" + EnvURL + ", else " + orDefault(app.DefaultURL, DefaultURL) + ".\n\n" +
			"Exit codes: 0 success, 1 failure, 2 usage, 3 problems found (failed tenants, drift, status --check), 4 no such tenant.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			c.out, c.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.PersistentFlags().StringVar(&c.url, "url", "", "database URL (sqlite:FILE, postgres://…, mysql://…); default $"+EnvURL+" or "+orDefault(app.DefaultURL, DefaultURL))
	root.PersistentFlags().BoolVar(&c.asJSON, "json", false, "print the result as JSON, for scripts")
	root.PersistentFlags().BoolVar(&c.pooler, "transaction-pooler", true, "PostgreSQL: no named prepared statements, so runs through PgBouncer work and leave none behind (=false: use them)")
	root.AddCommand(c.initCommand(), c.modelsCommand(), c.tenantsCommand(), c.fieldsCommand(), c.migrateCommand(), c.statusCommand(), c.driftCommand())
	closeAfter(root, c)
	return root
}

// closeAfter makes every command close the database it opened when it
// ends, failed or not (cobra skips its post-run hooks after an error), so
// that a command run twice in one process opens it afresh.
func closeAfter(cmd *cobra.Command, c *cli) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, a []string) error {
			defer func() {
				if c.db != nil {
					c.db.Close()
					c.db = nil
				}
			}()
			return run(cmd, a)
		}
	}
	for _, sub := range cmd.Commands() {
		closeAfter(sub, c)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// open opens the database and registers the application's models. It
// changes nothing in the database: one without a catalog is
// tenantmap.ErrNoCatalog.
func (c *cli) open(ctx context.Context) (*tenantmap.DB, error) { return c.openDB(ctx, false) }

// openCreating opens the database as open does, and makes (or upgrades)
// the catalog if it has none: for the commands that provision.
func (c *cli) openCreating(ctx context.Context) (*tenantmap.DB, error) { return c.openDB(ctx, true) }

func (c *cli) openDB(ctx context.Context, create bool) (*tenantmap.DB, error) {
	if c.db != nil {
		return c.db, nil
	}
	cfg, err := tenantmap.ParseConfig(c.app.DatabaseURL(c.url))
	if err != nil {
		return nil, err
	}
	// A command's own registry lives as long as the command: it need not
	// hear of other processes' changes (they hear of its own regardless).
	cfg.Watch = tenantmap.WatchOff
	cfg.CreateCatalog = create
	// A command is short-lived: named prepared statements would save little,
	// and through a transaction pooler they would stay on the server
	// sessions after it ends and break the next run that prepares them.
	cfg.TransactionPooler = cfg.TransactionPooler || c.pooler
	if c.app.Configure != nil {
		if err := c.app.Configure(cfg); err != nil {
			return nil, err
		}
	}
	db, err := tenantmap.OpenConfig(ctx, cfg)
	if err != nil {
		if errors.Is(err, tenantmap.ErrNoCatalog) || errors.Is(err, tenantmap.ErrCatalogOutdated) {
			return nil, fmt.Errorf("%w\nhere: %s init", err, c.app.Name)
		}
		return nil, err
	}
	if c.app.Setup != nil {
		if err := c.app.Setup(db); err != nil {
			db.Close()
			return nil, fmt.Errorf("setting up the application's models: %w", err)
		}
	}
	c.db = db
	return db, nil
}

// args wraps a cobra argument check so that its error is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError(err)
		}
		return nil
	}
}

// Command embedcli shows an application that carries tenantmap's tenant
// commands in its own binary, under "admin", next to its own commands: the
// migrations they run are the application's.
//
//	go run ./examples/embedcli admin tenants create acme
//	go run ./examples/embedcli admin migrate
//	go run ./examples/embedcli open-case acme "Login fails"
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
	"github.com/tenantmap/tenantmap/cli"
	"github.com/tenantmap/tenantmap/examples/casetracker"
)

func main() {
	root := &cobra.Command{Use: "embedcli", Short: "The case tracker, with tenantmap's tenant commands under admin", SilenceUsage: true, SilenceErrors: true}

	app := cli.App{
		Name:       "embedcli admin",
		DefaultURL: "sqlite:casetracker.db",
		Setup: func(db *tenantmap.DB) error {
			_, err := casetracker.Register(db)
			return err
		},
	}
	admin := cli.Command(app)
	admin.Use = "admin"
	root.AddCommand(admin)

	// One of the application's own commands, on the same database as the
	// admin commands: --url, else $TENANTMAP_URL, else the app's default.
	// It opens without creating the catalog: `embedcli admin tenants create`
	// makes it.
	var dbURL string
	openCase := &cobra.Command{
		Use:   "open-case TENANT TITLE",
		Short: "Open a case for a tenant",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := tenantmap.Open(cmd.Context(), app.DatabaseURL(dbURL))
			if err != nil {
				return err
			}
			defer db.Close()
			t, err := casetracker.Register(db)
			if err != nil {
				return err
			}
			c := &casetracker.Case{Title: args[1]}
			if err := t.Cases.Insert(tenantmap.WithTenant(cmd.Context(), args[0]), c); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "case %d opened for %s\n", c.ID, args[0])
			return nil
		},
	}
	openCase.Flags().StringVar(&dbURL, "url", "", "database URL; default $"+cli.EnvURL+" or "+app.DefaultURL)
	root.AddCommand(openCase)

	err := root.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedcli:", err)
	}
	os.Exit(cli.ExitCode(err))
}

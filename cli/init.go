package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the catalog tables in the database, or upgrade those an earlier release made; no tenant is created",
		Long: "init creates tenantmap's catalog tables in the database, or upgrades those an earlier release made.\n" +
			"tenants create, clone and import do it too; every other command changes nothing in a database without a catalog.",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := c.openCreating(cmd.Context()); err != nil {
				return err
			}
			if c.asJSON {
				return c.printJSON(map[string]bool{"catalog": true})
			}
			fmt.Fprintln(c.out, "the catalog is ready")
			return nil
		},
	}
}

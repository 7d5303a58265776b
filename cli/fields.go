package cli

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
)

func (c *cli) fieldsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fields",
		Short: "List, add, rename and drop a tenant's custom fields of a model",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError(fmt.Errorf("fields needs a subcommand; see %s fields --help", c.app.Name))
		},
	}
	cmd.AddCommand(c.fieldsListCommand(), c.fieldsAddCommand(), c.fieldsRenameCommand(), c.fieldsDropCommand())
	return cmd
}

// fieldError is a usage error for a refused field: the command line was
// wrong, not the database.
func fieldError(err error) error {
	if errors.Is(err, tenantmap.ErrInvalidField) {
		return usageError(err)
	}
	return err
}

func (c *cli) fieldsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list TENANT MODEL",
		Short: "List a tenant's custom fields of a model",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			db, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			fs, err := db.Tenants().CustomFields(cmd.Context(), a[0], a[1])
			if err != nil {
				return fieldError(err)
			}
			if c.asJSON {
				if fs == nil {
					fs = []tenantmap.FieldDef{}
				}
				return c.printJSON(fs)
			}
			rows := make([][]string, len(fs))
			for i, f := range fs {
				def := ""
				if f.Default != nil {
					def = fmt.Sprint(f.Default)
				}
				size := ""
				if f.Size > 0 {
					size = strconv.Itoa(f.Size)
				}
				rows[i] = []string{f.Name, f.Type, size, strconv.FormatBool(f.Nullable), def, strconv.FormatBool(f.Index || f.Unique)}
			}
			return table(c.out, []string{"NAME", "TYPE", "SIZE", "NULLABLE", "DEFAULT", "INDEXED"}, rows)
		},
	}
}

func (c *cli) fieldsAddCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add TENANT MODEL NAME TYPE",
		Short: "Add a custom field to a tenant's model (TYPE: string, text, int64, float64, bool, time, json, …)",
		Args:  args(cobra.ExactArgs(4)),
	}
	size := cmd.Flags().Int("size", 0, "a string field's maximum length in characters")
	nullable := cmd.Flags().Bool("nullable", false, "NULL allowed (a field needs this or --default)")
	def := cmd.Flags().String("default", "", "the value rows already there and inserts without it get (now for a time field)")
	index := cmd.Flags().Bool("index", false, "index the field (not in a shared table)")
	unique := cmd.Flags().Bool("unique", false, "a unique index on the field (not in a shared table)")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		fd := tenantmap.FieldDef{Name: a[2], Type: a[3], Size: *size, Nullable: *nullable, Index: *index, Unique: *unique}
		if cmd.Flags().Changed("default") {
			fd.Default = *def
		}
		db, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		if err := db.Tenants().AddField(cmd.Context(), a[0], a[1], fd); err != nil {
			return fieldError(err)
		}
		if !c.asJSON {
			fmt.Fprintf(c.out, "%s: %s.%s added (%s)\n", a[0], a[1], a[2], a[3])
			return nil
		}
		return c.printJSON(fd)
	}
	return cmd
}

func (c *cli) fieldsRenameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename TENANT MODEL FROM TO",
		Short: "Rename a tenant's custom field; its values are kept",
		Args:  args(cobra.ExactArgs(4)),
		RunE: func(cmd *cobra.Command, a []string) error {
			db, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.Tenants().RenameField(cmd.Context(), a[0], a[1], a[2], a[3]); err != nil {
				return fieldError(err)
			}
			fmt.Fprintf(c.out, "%s: %s.%s renamed to %s\n", a[0], a[1], a[2], a[3])
			return nil
		},
	}
}

func (c *cli) fieldsDropCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "drop TENANT MODEL NAME",
		Short: "Drop a tenant's custom field and its values",
		Args:  args(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, a []string) error {
			db, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.Tenants().DropField(cmd.Context(), a[0], a[1], a[2]); err != nil {
				return fieldError(err)
			}
			fmt.Fprintf(c.out, "%s: %s.%s dropped\n", a[0], a[1], a[2])
			return nil
		},
	}
}

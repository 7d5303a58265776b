package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tenantmap/tenantmap"
)

func (c *cli) modelsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "models",
		Short: "List the application's models: each one's default placement and fields (what --placement and fields add work on)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := c.open(cmd.Context())
			if errors.Is(err, tenantmap.ErrNoCatalog) {
				// The models are the application's, not the database's: list
				// them from an empty in-memory database, changing nothing.
				db, err = c.openModelsOnly(cmd.Context())
			}
			if err != nil {
				return err
			}
			type modelJSON struct {
				Name     string   `json:"name"`
				Strategy string   `json:"strategy"`
				Fields   []string `json:"fields"`
			}
			var out []modelJSON
			for _, m := range db.Models() {
				j := modelJSON{Name: m.Model.Name(), Strategy: m.Strategy.String(), Fields: []string{}}
				for _, f := range m.Model.Doc().Fields {
					j.Fields = append(j.Fields, f.Name)
				}
				out = append(out, j)
			}
			if c.asJSON {
				if out == nil {
					out = []modelJSON{}
				}
				return c.printJSON(out)
			}
			var rows [][]string
			for _, m := range out {
				rows = append(rows, []string{m.Name, m.Strategy, strings.Join(m.Fields, ", ")})
			}
			return table(c.out, []string{"MODEL", "DEFAULT PLACEMENT", "FIELDS"}, rows)
		},
	}
}

// openModelsOnly opens an in-memory SQLite database with the application's
// models registered, for listing them.
func (c *cli) openModelsOnly(ctx context.Context) (*tenantmap.DB, error) {
	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: ":memory:", CreateCatalog: true, Watch: tenantmap.WatchOff})
	if err != nil {
		return nil, err
	}
	if c.app.Setup != nil {
		if err := c.app.Setup(db); err != nil {
			db.Close()
			return nil, err
		}
	}
	c.db = db
	return db, nil
}

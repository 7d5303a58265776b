package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

var (
	// ErrNoCatalog: the database has no tenantmap catalog, and the DB was
	// opened without Config.CreateCatalog, so nothing was created.
	ErrNoCatalog = errors.New("tenantmap: no tenantmap catalog in this database (nothing was changed); create it with `tenantctl init` or `tenantctl tenants create ID`, or open with Config.CreateCatalog")
	// ErrCatalogOutdated: the catalog was made by an earlier release and
	// lacks what this one needs; the DB was opened without
	// Config.CreateCatalog, so it was not upgraded.
	ErrCatalogOutdated = errors.New("tenantmap: the catalog was made by an earlier release of tenantmap; upgrade it with `tenantctl init`, or open once with Config.CreateCatalog")
)

// sqliteFileMissing says whether cfg names an SQLite file that does not
// exist: opening it would create it.
func sqliteFileMissing(dsn string) (string, bool) {
	name, query, _ := strings.Cut(dsn, "?")
	name = strings.TrimPrefix(name, "file:")
	if name == "" || name == ":memory:" || strings.Contains(query, "mode=memory") {
		return name, false
	}
	_, err := os.Stat(name)
	return name, errors.Is(err, os.ErrNotExist)
}

// check reports whether the catalog is there and current, changing nothing:
// ErrNoCatalog if its tenants table is missing, ErrCatalogOutdated if a
// table, a column or the change log made by ensure is missing.
func (c *catalog) check(ctx context.Context, be backend) error {
	tables := []struct {
		name string
		cols []catalogColumn
	}{{CatalogTable, c.tenantColumns}, {ObjectTable, c.objectColumns}, {PlacementTable, c.placementColumns}}
	for i, t := range tables {
		have, err := columnsOf(ctx, be, c.d, c.schema, t.name)
		if err != nil {
			return err
		}
		if len(have) == 0 {
			if i == 0 {
				return ErrNoCatalog
			}
			return fmt.Errorf("%w (table %s is missing)", ErrCatalogOutdated, t.name)
		}
		for _, col := range t.cols {
			if !slices.ContainsFunc(have, func(h ColumnInfo) bool { return h.Name == col.name }) {
				return fmt.Errorf("%w (%s has no column %s)", ErrCatalogOutdated, t.name, col.name)
			}
		}
	}
	ok, err := c.hasChangeLog(ctx, be)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w (no change log)", ErrCatalogOutdated)
	}
	return nil
}

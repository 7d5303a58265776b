package tenantmap_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// TestOpenWithoutCatalog: Open without Config.CreateCatalog changes nothing
// in a database that has no catalog (on SQLite, makes no file) and says so
// with ErrNoCatalog; with it, the catalog is made and a later plain Open
// works.
func TestOpenWithoutCatalog(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "typo.db")
		_, err := tenantmap.Open(ctx, "sqlite:"+path)
		if !errors.Is(err, tenantmap.ErrNoCatalog) {
			t.Fatalf("Open of a missing file: want ErrNoCatalog, got %v", err)
		}
		var te *tenantmap.Error
		if !errors.As(err, &te) {
			t.Errorf("want a *tenantmap.Error, got %T", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Open without CreateCatalog made %s (stat: %v)", path, err)
		}
		db, err := openCreating(ctx, "sqlite:"+path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = tenantmap.Open(ctx, "sqlite:"+path)
		if err != nil {
			t.Fatalf("Open after the catalog was made: %v", err)
		}
		db.Close()
	})
	t.Run("postgres", func(t *testing.T) {
		u := newPostgresDatabase(t)
		_, err := tenantmap.Open(ctx, u)
		if !errors.Is(err, tenantmap.ErrNoCatalog) {
			t.Fatalf("Open of an empty database: want ErrNoCatalog, got %v", err)
		}
		db, err := openCreating(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if n := queryStrings(t, db, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ?", tenantmap.CatalogTable); len(n) != 1 {
			t.Fatalf("CreateCatalog made no catalog")
		}
		// An earlier release's catalog: a column this one added is missing.
		if _, err := tenantmap.AdminExec(ctx, db, `ALTER TABLE `+tenantmap.CatalogTable+` DROP COLUMN migration_step`); err != nil {
			t.Fatal(err)
		}
		if _, err := tenantmap.Open(ctx, u); !errors.Is(err, tenantmap.ErrCatalogOutdated) {
			t.Fatalf("Open of an outdated catalog: want ErrCatalogOutdated, got %v", err)
		}
		up, err := openCreating(ctx, u)
		if err != nil {
			t.Fatalf("CreateCatalog upgrading: %v", err)
		}
		up.Close()
		again, err := tenantmap.Open(ctx, u)
		if err != nil {
			t.Fatalf("Open after the upgrade: %v", err)
		}
		again.Close()
	})
	t.Run("mysql", func(t *testing.T) {
		u := newMySQLDatabase(t)
		if _, err := tenantmap.Open(ctx, u); !errors.Is(err, tenantmap.ErrNoCatalog) {
			t.Fatalf("Open of an empty database: want ErrNoCatalog, got %v", err)
		}
	})
}

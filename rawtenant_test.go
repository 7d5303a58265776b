package tenantmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestRawStatementChecksTenant: a raw statement that names no model is
// refused for a tenant that does not exist, was dropped (after it was
// cached, and kept for a retention window) or is suspended, as every
// model call is; none of the refused statements writes anything. Before
// the fix such a statement ran in the DB's own database for any tenant
// id. (issue 12 item 5)
func TestRawStatementChecksTenant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		bg := context.Background()
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "live", "gone", "kept", "sus")
		// A table no model names, in the DB's own database: where a
		// statement for a tenant without a database of its own runs.
		if _, err := tenantmap.AdminExec(bg, db, "CREATE TABLE raw_probe (who VARCHAR(40))"); err != nil {
			t.Fatal(err)
		}
		probe := func(id string) error {
			_, err := db.Exec(tenantmap.WithTenant(bg, id), "INSERT INTO raw_probe (who) VALUES (?)", id)
			return err
		}
		one := func(id string) error {
			var n int64
			return db.QueryRow(tenantmap.WithTenant(bg, id), "SELECT 1").Scan(&n)
		}
		query := func(id string) error {
			rows, err := db.Query(tenantmap.WithTenant(bg, id), "SELECT 2")
			if err == nil {
				rows.Close()
			}
			return err
		}
		// Each tenant's home is cached before it changes status.
		for _, id := range []string{"live", "gone", "kept", "sus"} {
			if err := one(id); err != nil {
				t.Fatalf("SELECT 1 for %s: %v", id, err)
			}
			if _, err := notes.Count(tenantmap.WithTenant(bg, id), tenantmap.Query{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone")); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Drop(bg, "kept", tenantmap.ConfirmDrop("kept"), tenantmap.Retain(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Suspend(bg, "sus"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   string
			want error
		}{
			{"ghost", tenantmap.ErrTenantNotFound},
			{"gone", tenantmap.ErrTenantNotFound},
			{"kept", tenantmap.ErrTenantNotFound},
			{"sus", tenantmap.ErrTenantSuspended},
		} {
			for name, call := range map[string]func(string) error{"Exec": probe, "QueryRow": one, "Query": query} {
				err := call(tc.id)
				if !errors.Is(err, tc.want) {
					t.Errorf("raw %s naming no model for tenant %q: %v, want %v", name, tc.id, err, tc.want)
				}
				var te *tenantmap.Error
				if err != nil && !errors.As(err, &te) {
					t.Errorf("raw %s for %q: %T is not *tenantmap.Error", name, tc.id, err)
				}
			}
		}
		if got := queryStrings(t, db, "SELECT who FROM raw_probe"); len(got) != 0 {
			t.Errorf("refused raw statements wrote %v", got)
		}
		// An active tenant's raw statements still run, and a resumed
		// tenant's again.
		if err := one("live"); err != nil {
			t.Errorf("SELECT 1 for an active tenant: %v", err)
		}
		if err := db.Tenants().Resume(bg, "sus"); err != nil {
			t.Fatal(err)
		}
		if err := query("sus"); err != nil {
			t.Errorf("a raw query after Resume: %v", err)
		}
	})
}

// BenchmarkRawNamingNoModel: a raw query that names no model, for a cached
// tenant on SQLite; the tenant check is the registry's lookup.
func BenchmarkRawNamingNoModel(b *testing.B) {
	db := sqliteOpen(b)
	mustCreate(b, db, "acme")
	ctx := tenantmap.WithTenant(context.Background(), "acme")
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		if err := db.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
}

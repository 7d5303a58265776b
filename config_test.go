package tenantmap_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantmap/tenantmap"
)

// A Config built by hand, a parsed one and OpenPool's nil all get the
// documented defaults: the zero value of every field is the default.
func TestConfigZeroValueIsDefault(t *testing.T) {
	ctx := context.Background()
	url := postgresURL(t)
	parsed, err := tenantmap.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, db *tenantmap.DB, wantAffine bool, wantStatements int) {
		t.Helper()
		mode, affine, statements, err := tenantmap.ConnSettings(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if mode != "force_generic_plan" {
			t.Errorf("plan_cache_mode %q, want force_generic_plan", mode)
		}
		if affine != wantAffine {
			t.Errorf("tenant affinity %v, want %v", affine, wantAffine)
		}
		if wantStatements >= 0 && statements != wantStatements {
			t.Errorf("statement cache %d, want %d", statements, wantStatements)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  *tenantmap.Config
	}{
		{"parsed", parsed},
		{"hand-built", &tenantmap.Config{Driver: "postgres", DSN: parsed.DSN}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *tc.cfg
			c.MaxConns = 2
			db, err := openConfigCreating(ctx, &c)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			check(t, db, true, tenantmap.DefaultStatementCacheSize)
		})
	}
	t.Run("turned off", func(t *testing.T) {
		c := *parsed
		c.MaxConns, c.DisableGenericPlans, c.DisableTenantAffinity, c.StatementCacheSize = 2, true, true, -1
		db, err := openConfigCreating(ctx, &c)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		mode, affine, statements, err := tenantmap.ConnSettings(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if mode == "force_generic_plan" || affine || statements != 0 {
			t.Errorf("turned off: plan_cache_mode %q, affinity %v, statements %d", mode, affine, statements)
		}
	})
	t.Run("OpenPool nil", func(t *testing.T) {
		pc, err := pgxpool.ParseConfig(parsed.DSN)
		if err != nil {
			t.Fatal(err)
		}
		pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		db, err := openPoolCreating(ctx, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The caller's pool is used as it is (one pool, its own cache).
		check(t, db, false, -1)
	})
}

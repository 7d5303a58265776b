package tenantmap_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

type deadlockNote struct {
	ID   int64
	Body string
}

// TestRegistryBuildInTxDoesNotWaitForOthers: a call inside InTx that
// misses the registry while another goroutine builds the same mapping must
// not wait for that build, which needs the pool's only connection — the one
// the transaction holds (issue 12: a deadlock in the registry).
func TestRegistryBuildInTxDoesNotWaitForOthers(t *testing.T) {
	opens := []struct {
		name     string
		url      func(t *testing.T) string
		maxConns int
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/test.db" }, 1},
		{"postgres", func(t *testing.T) string { return newPostgresDatabase(t) }, 1},
		{"mysql", func(t *testing.T) string { return newMySQLDatabase(t) }, 1},
	}
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := tenantmap.ParseConfig(o.url(t))
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaxConns = o.maxConns
			cfg.CreateCatalog = true
			db, err := tenantmap.OpenConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			notes, err := tenantmap.Register[deadlockNote](db, tenantmap.TablePerTenant("{tenant}_note"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "acme")
			ctx := tenantmap.WithTenant(context.Background(), "acme")
			n := deadlockNote{Body: "x"}
			if err := notes.Insert(ctx, &n); err != nil {
				t.Fatal(err)
			}
			db.Registry().InvalidateAll()

			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			outside := make(chan error, 1)
			err = db.InTx(tctx, func(txctx context.Context) error {
				// The transaction holds the pool's only connection: the
				// outside call's build waits for it.
				misses := db.Registry().Stats().Misses
				go func() {
					_, err := notes.Get(tctx, n.ID)
					outside <- err
				}()
				for db.Registry().Stats().Misses == misses {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond) // the outside call is now building
				short, cancel := context.WithTimeout(txctx, 2*time.Second)
				defer cancel()
				_, err := notes.Get(short, n.ID)
				return err
			})
			if err != nil {
				t.Fatalf("Get inside InTx while another goroutine builds the mapping: %v", err)
			}
			if err := <-outside; err != nil {
				t.Fatalf("Get outside the transaction: %v", err)
			}
		})
	}
}

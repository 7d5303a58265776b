package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// Jotting is the statement-cache tests' model.
type Jotting struct {
	ID   int64
	Body string
}

// openWithStatementCache opens a fresh SQLite file or MySQL database with
// StatementCacheSize size and no watcher (whose polls would use the pool).
func openWithStatementCache(t *testing.T, driver string, size int) *tenantmap.DB {
	t.Helper()
	u := "sqlite:" + filepath.Join(t.TempDir(), "stmts.db")
	if driver == "mysql" {
		u = newMySQLDatabase(t)
	}
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StatementCacheSize = size
	cfg.Watch = tenantmap.WatchOff
	if driver == "mysql" {
		cfg.MaxConns = 1 // one server session: its counters are the pool's
	}
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Many goroutines calling many tenants through a cache far smaller than
// their statements: every call gets its own tenant's row, the cache never
// holds more than its size, and statements evicted while others use them
// do not fail those calls.
func TestStatementCacheBoundedUnderLoad(t *testing.T) {
	for _, driver := range []string{"sqlite", "mysql"} {
		for _, s := range []struct {
			name     string
			strategy tenantmap.Strategy
		}{
			{"table", tenantmap.TablePerTenant("{tenant}_jotting")},
			{"shared", tenantmap.SharedTable("")},
			{"database", tenantmap.DatabasePerTenant("")},
		} {
			if driver == "mysql" && s.name == "database" {
				continue // MySQL reaches a tenant's database over the pool: the table case
			}
			t.Run(driver+"/"+s.name, func(t *testing.T) {
				t.Parallel()
				const size = 3
				db := openWithStatementCache(t, driver, size)
				jots, err := tenantmap.Register[Jotting](db, s.strategy)
				if err != nil {
					t.Fatal(err)
				}
				ids := []string{"ta", "tb", "tc", "td", "te", "tf"}
				mustCreate(t, db, ids...)
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for g := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range 60 {
							id := ids[(g+i)%len(ids)]
							ctx := tenantmap.WithTenant(context.Background(), id)
							m := &Jotting{Body: fmt.Sprintf("%s#%d#%d", id, g, i)}
							if err := jots.Insert(ctx, m); err != nil {
								errs <- err
								return
							}
							got, err := jots.Get(ctx, m.ID)
							if err != nil {
								errs <- err
								return
							}
							if got.Body != m.Body {
								errs <- fmt.Errorf("tenant %s, key %d: got %q, want %q", id, m.ID, got.Body, m.Body)
								return
							}
							if kept := tenantmap.StatementsKept(db); kept > size {
								errs <- fmt.Errorf("the cache holds %d statements, more than its %d", kept, size)
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				for _, id := range ids {
					ms, err := jots.Find(tenantmap.WithTenant(context.Background(), id), tenantmap.Query{})
					if err != nil {
						t.Fatal(err)
					}
					if len(ms) != 40 { // 4 goroutines × 60 calls over 6 tenants
						t.Fatalf("tenant %s has %d jots, want 40", id, len(ms))
					}
					for _, m := range ms {
						if !strings.HasPrefix(m.Body, id+"#") {
							t.Fatalf("tenant %s reads another tenant's memo %q", id, m.Body)
						}
					}
				}
			})
		}
	}
}

// On MySQL a call with arguments is prepared, run and closed by the driver
// unless its statement is kept: with the cache, repeated Gets prepare
// nothing more on the server; without it (a negative size), each prepares.
func TestMySQLStatementCachePrepares(t *testing.T) {
	for _, tt := range []struct {
		size     int
		min, max int64 // server-side prepares for 21 Gets
	}{
		{size: 0, min: 0, max: 0}, // the default cache
		{size: -1, min: 21, max: 30},
	} {
		t.Run("size="+strconv.Itoa(tt.size), func(t *testing.T) {
			t.Parallel()
			db := openWithStatementCache(t, "mysql", tt.size)
			if tt.size < 0 && tenantmap.StatementsKept(db) != -1 {
				t.Fatal("a negative StatementCacheSize keeps statements")
			}
			jots, err := tenantmap.Register[Jotting](db, tenantmap.TablePerTenant("{tenant}_jotting"))
			if err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "acme")
			ctx := tenantmap.WithTenant(context.Background(), "acme")
			m := &Jotting{Body: "hello"}
			if err := jots.Insert(ctx, m); err != nil {
				t.Fatal(err)
			}
			prepares := func() int64 {
				t.Helper()
				// No arguments: sent as text, not counted itself.
				v := queryStrings(t, db, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'")
				if len(v) != 1 {
					t.Fatalf("COM_STMT_PREPARE: %v", v)
				}
				n, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if _, err := jots.Get(ctx, m.ID); err != nil { // the mapping is cached
				t.Fatal(err)
			}
			before := prepares()
			for range 20 {
				got, err := jots.Get(ctx, m.ID)
				if err != nil || got.Body != "hello" {
					t.Fatalf("get: %+v, %v", got, err)
				}
			}
			if _, err := jots.Get(ctx, m.ID+1000); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
			}
			if n := prepares() - before; n < tt.min || n > tt.max {
				t.Fatalf("21 Gets prepared %d statements on the server, want %d–%d", n, tt.min, tt.max)
			}
		})
	}
}

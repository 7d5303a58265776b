package tenantmap_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

func openPostgresConfig(t *testing.T, tweak func(*tenantmap.Config)) *tenantmap.DB {
	t.Helper()
	cfg, err := tenantmap.ParseConfig(newPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	tweak(cfg)
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func backendPID(t *testing.T, db *tenantmap.DB, tenant string) int32 {
	t.Helper()
	var pid int32
	if err := db.QueryRow(tctx(tenant), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// With tenant affinity, once the tenants in use are more than one
// connection's statement cache holds (here a cache of 7 statements, one
// mapping's), an idle tenant's calls always reach the same server backend,
// and tenants are spread over the backends. With fewer, calls go to the
// first idle connection, as a pool's would.
func TestTenantAffinityRoutesToHome(t *testing.T) {
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("t%02d", i))
	}
	few := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 4 })
	mustCreate(t, few, ids...)
	used := map[int32]bool{}
	for i := range 40 {
		used[backendPID(t, few, fmt.Sprintf("t%02d", i))] = true
	}
	if len(used) != 1 {
		t.Errorf("40 tenants, each one mapping well within the statement cache, called one at a time, used %d backends, want the first idle one", len(used))
	}
	db := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 4; c.StatementCacheSize = 7 })
	mustCreate(t, db, ids...)
	homes := map[int32]int{}
	for i := range 40 {
		id := fmt.Sprintf("t%02d", i)
		pid := backendPID(t, db, id)
		for range 5 {
			if got := backendPID(t, db, id); got != pid {
				t.Fatalf("tenant %s moved from backend %d to %d while idle", id, pid, got)
			}
		}
		homes[pid]++
	}
	if len(homes) != 4 {
		t.Errorf("40 tenants used %d backends of 4: %v", len(homes), homes)
	}
	// Without affinity the pool hands out any connection.
	plain := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 4; c.DisableTenantAffinity = true })
	mustCreate(t, plain, "t00")
	if pid := backendPID(t, plain, "t00"); pid == 0 {
		t.Fatal("no backend pid")
	}
}

// A transaction whose first call for a model misses the registry reads the
// catalog on its own connection: with every connection held by such a
// transaction, none waits for another.
// A shared table's statements are one text for every tenant, so its calls
// take the first idle connection even when the tenants in use overflow a
// connection's statement cache, where a table of each tenant's own would
// be routed to its home.
func TestSharedTableCallsTakeFirstIdle(t *testing.T) {
	db := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 4; c.StatementCacheSize = 7 })
	if _, err := tenantmap.Register[Jotting](db, tenantmap.SharedTable("")); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantmap.Register[Comment](db, tenantmap.TablePerTenant("{tenant}_comment")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("s%02d", i))
	}
	mustCreate(t, db, ids...)
	pid := func(sql, id string) int32 {
		t.Helper()
		var p int32
		if err := db.QueryRow(tctx(id), sql).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shared, own := map[int32]bool{}, map[int32]bool{}
	for _, id := range ids {
		shared[pid("SELECT pg_backend_pid() FROM (SELECT 1) AS one LEFT JOIN {jotting} AS j ON {j.tenant}", id)] = true
		own[pid("SELECT pg_backend_pid() FROM (SELECT 1) AS one LEFT JOIN {comment} AS c ON true", id)] = true
	}
	if len(shared) != 1 {
		t.Errorf("40 tenants' calls on a shared table, one at a time, used %d backends, want the first idle one", len(shared))
	}
	if len(own) < 2 {
		t.Errorf("40 tenants' calls on their own tables used %d backend, want them spread over their homes", len(own))
	}
}

func TestTxRegistryMissDoesNotDeadlock(t *testing.T) {
	for _, conns := range []int{1, 2} {
		for _, affinity := range []bool{true, false} {
			t.Run(fmt.Sprintf("conns=%d/affinity=%v", conns, affinity), func(t *testing.T) {
				db := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = conns; c.DisableTenantAffinity = !affinity })
				notes, err := tenantmap.Register[Memo](db, tenantmap.TablePerTenant("{tenant}_memo"))
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for i := range 6 {
					ids = append(ids, fmt.Sprintf("d%d", i))
				}
				mustCreate(t, db, ids...)
				db.Registry().InvalidateAll()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				var wg sync.WaitGroup
				for _, id := range ids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						err := db.InTx(tenantmap.WithTenant(ctx, id), func(ctx context.Context) error {
							return notes.Insert(ctx, &Memo{Text: id})
						})
						if err != nil {
							t.Errorf("%s: %v", id, err)
						}
					}()
				}
				wg.Wait()
				for _, id := range ids {
					if n, err := notes.Count(tctx(id), tenantmap.Query{}); err != nil || n != 1 {
						t.Errorf("%s: %d rows, %v", id, n, err)
					}
				}
			})
		}
	}
}

// Memo is the affinity tests' model.
type Memo struct {
	ID   int64
	Text string
}

// Rows read to the end without Close give their connection back: the
// tenant's next call still finds its first home free.
func TestTenantAffinityRowsReadToEnd(t *testing.T) {
	db := openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 2 })
	mustCreate(t, db, "acme")
	home := backendPID(t, db, "acme")
	rows, err := db.Query(tctx("acme"), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := backendPID(t, db, "acme"); got != home {
			t.Fatalf("after rows read to the end, acme moved from backend %d to %d", home, got)
		}
	}
	rows.Close() // a late Close must not release twice
	if got := backendPID(t, db, "acme"); got != home {
		t.Fatalf("after a late Close, acme moved from backend %d to %d", home, got)
	}
}

// A fresh handle whose first call is a transaction, on a one-connection
// pool, does not wait for a second connection to make the catalog.
func TestFirstCallInTxOnFreshHandle(t *testing.T) {
	u := newPostgresDatabase(t)
	first, err := openCreating(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantmap.Register[Memo](first, tenantmap.TablePerTenant("{tenant}_memo")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, first, "acme")
	first.Close()

	db := openOneConn(t, u)
	memos, err := tenantmap.Register[Memo](db, tenantmap.TablePerTenant("{tenant}_memo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tctx("acme"), 10*time.Second)
	defer cancel()
	if err := db.InTx(ctx, func(ctx context.Context) error { return memos.Insert(ctx, &Memo{Text: "x"}) }); err != nil {
		t.Fatal(err)
	}
}

// With one connection, many goroutines mixing transactions, streams and
// plain calls over several tenants all finish, each seeing its own rows.
func TestOneConnectionUnderLoad(t *testing.T) {
	opens := map[string]func(t *testing.T) *tenantmap.DB{
		"postgres": func(t *testing.T) *tenantmap.DB {
			return openPostgresConfig(t, func(c *tenantmap.Config) { c.MaxConns = 1 })
		},
		"mysql":  func(t *testing.T) *tenantmap.DB { return openOneConn(t, newMySQLDatabase(t)) },
		"sqlite": func(t *testing.T) *tenantmap.DB { return openOneConn(t, "sqlite:"+t.TempDir()+"/one.db") },
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			memos, err := tenantmap.Register[Memo](db, tenantmap.TablePerTenant("{tenant}_memo"))
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{"l0", "l1", "l2"}
			mustCreate(t, db, ids...)
			db.Registry().InvalidateAll() // first calls miss, inside transactions too
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := ids[g%len(ids)]
					tc := tenantmap.WithTenant(ctx, id)
					for i := range 10 {
						var err error
						switch i % 3 {
						case 0:
							err = db.InTx(tc, func(ctx context.Context) error { return memos.Insert(ctx, &Memo{Text: id}) })
						case 1:
							for m, e := range memos.All(tc, tenantmap.Query{}) {
								if e != nil {
									err = e
									break
								}
								if m.Text != id {
									t.Errorf("%s sees %s's memo", id, m.Text)
								}
							}
						default:
							err = memos.Insert(tc, &Memo{Text: id})
						}
						if err != nil {
							t.Errorf("goroutine %d, op %d: %v", g, i, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			for _, id := range ids {
				// 2 goroutines per tenant × (4 transactional + 3 plain inserts)
				if n, err := memos.Count(tctx(id), tenantmap.Query{}); err != nil || n != 14 {
					t.Errorf("%s: %d memos, %v; want 14", id, n, err)
				}
			}
		})
	}
}

func openOneConn(t *testing.T, rawURL string) *tenantmap.DB {
	t.Helper()
	cfg, err := tenantmap.ParseConfig(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

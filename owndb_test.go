package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap"
)

// ownNote is the model of the tests of tenants' own databases.
type ownNote struct {
	ID    int64  `tm:"id,pk"`
	Owner string `tm:"owner"`
	Body  string `tm:"body"`
}

// ownDBBackends are the databases where DatabasePerTenant gives a tenant
// connections of its own.
var ownDBBackends = []struct {
	name   string
	open   func(t testing.TB, maxConns int) *tenantmap.DB
	prefix string
}{
	{"sqlite", func(t testing.TB, maxConns int) *tenantmap.DB {
		cfg, err := tenantmap.ParseConfig("sqlite:" + t.TempDir() + "/main.db")
		if err != nil {
			t.Fatal(err)
		}
		cfg.TenantMaxConns = maxConns
		return openCfg(t, cfg)
	}, ""},
	{"postgres", func(t testing.TB, maxConns int) *tenantmap.DB {
		cfg, err := tenantmap.ParseConfig(newPostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.TenantMaxConns = maxConns
		db := openCfg(t, cfg)
		ownDBPrefixes.Store(db, pgDBPrefix)
		dropOwnDatabasesAtCleanup(t, db)
		return db
	}, pgDBPrefix},
}

// ownDBOpen opens a DB whose tenants get databases of their own, named
// prefix + the tenant, under a cap of maxConns connections.
func ownDBOpen(t testing.TB, open func(testing.TB, int) *tenantmap.DB, prefix string, maxConns int) (*tenantmap.DB, *tenantmap.Table[ownNote]) {
	t.Helper()
	db := open(t, maxConns)
	notes, err := tenantmap.Register[ownNote](db, tenantmap.DatabasePerTenant(prefix+"{tenant}"))
	if err != nil {
		t.Fatal(err)
	}
	return db, notes
}

func openCfg(t testing.TB, cfg *tenantmap.Config) *tenantmap.DB {
	t.Helper()
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// serverConns counts the server sessions on databases whose names begin
// with prefix (PostgreSQL; -1 elsewhere).
func serverConns(t testing.TB, prefix string) int {
	t.Helper()
	if prefix == "" {
		return -1
	}
	conn, _ := pgAdmin(t)
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE starts_with(datname, $1)", prefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// With one connection for every tenant database, concurrent calls of every
// kind for many tenants all finish, with the right rows, and never more than
// one connection is open.
func TestOwnDatabaseCapOfOne(t *testing.T) {
	for _, be := range ownDBBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db, notes := ownDBOpen(t, be.open, be.prefix, 1)
			const tenants, workers, ops = 12, 6, 60
			var ids []string
			for i := range tenants {
				ids = append(ids, fmt.Sprintf("t%02d", i))
			}
			mustCreate(t, db, ids...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a deadlock fails, not hangs
			defer cancel()
			var mu sync.Mutex
			inserted := map[string]int{}
			maxOpen := 0
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 7))
					for range ops {
						id := ids[rng.IntN(tenants)]
						tctx := tenantmap.WithTenant(ctx, id)
						var err error
						switch rng.IntN(5) {
						case 0:
							n := &ownNote{Owner: id, Body: "x"}
							if err = notes.Insert(tctx, n); err == nil {
								var got *ownNote
								if got, err = notes.Get(tctx, n.ID); err == nil && got.Owner != id {
									err = fmt.Errorf("tenant %s read %+v", id, got)
								}
								mu.Lock()
								inserted[id]++
								mu.Unlock()
							}
						case 1:
							for n, e := range notes.All(tctx, tenantmap.Query{}) {
								if e != nil {
									err = e
									break
								}
								if n.Owner != id {
									err = fmt.Errorf("tenant %s streamed %+v", id, n)
									break
								}
							}
						case 2:
							err = db.InTx(tctx, func(ctx context.Context) error {
								n := &ownNote{Owner: id, Body: "tx"}
								if err := notes.Insert(ctx, n); err != nil {
									return err
								}
								_, err := notes.Count(ctx, tenantmap.Query{})
								return err
							})
							if err == nil {
								mu.Lock()
								inserted[id]++
								mu.Unlock()
							}
						case 3:
							var c int64
							err = db.QueryRow(tctx, "SELECT count(*) FROM {own_note} WHERE owner <> ? AND {tenant}", id).Scan(&c)
							if err == nil && c != 0 {
								err = fmt.Errorf("tenant %s counted %d foreign rows", id, c)
							}
						case 4:
							// Stopping a stream early gives its connection back.
							for range notes.All(tctx, tenantmap.Query{}) {
								break
							}
						}
						if err != nil {
							errs <- fmt.Errorf("tenant %s: %w", id, err)
							return
						}
						mu.Lock()
						maxOpen = max(maxOpen, db.TenantConnStats().Open)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if maxOpen > 1 {
				t.Errorf("%d connections open at once, the cap is 1", maxOpen)
			}
			if n := serverConns(t, be.prefix); n > 1 {
				t.Errorf("the server has %d sessions on tenant databases, the cap is 1", n)
			}
			for _, id := range ids {
				if c, err := notes.Count(tenantmap.WithTenant(ctx, id), tenantmap.Query{}); err != nil || int(c) != inserted[id] {
					t.Errorf("tenant %s has %d rows, %v; want %d", id, c, err, inserted[id])
				}
			}
			st := db.TenantConnStats()
			if st.Max != 1 || st.Open > 1 || st.Waits == 0 || st.Evictions == 0 {
				t.Errorf("stats %+v: want Max 1, Open <= 1, and waits and evictions under this load", st)
			}
		})
	}
}

// The connection idle longest is the one closed to make room.
func TestOwnDatabaseLeastRecentlyUsed(t *testing.T) {
	prefix := pgDBPrefix
	cfg, err := tenantmap.ParseConfig(newPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TenantMaxConns = 3
	t.Cleanup(func() { dropPostgresDatabases(t, prefix+"lru_") })
	strategy := tenantmap.DatabasePerTenant(prefix + "lru_{tenant}")
	maker := openCfg(t, cfg)
	if _, err := tenantmap.Register[ownNote](maker, strategy); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, maker, "a", "b", "c", "d")
	maker.Close() // Create used connections; start from none
	db := openCfg(t, cfg)
	notes, err := tenantmap.Register[ownNote](db, strategy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	touch := func(id string) {
		t.Helper()
		if _, err := notes.Count(tenantmap.WithTenant(ctx, id), tenantmap.Query{}); err != nil {
			t.Fatal(err)
		}
	}
	sessions := func() []string {
		t.Helper()
		conn, _ := pgAdmin(t)
		defer conn.Close(ctx)
		rows, _ := conn.Query(ctx, "SELECT datname FROM pg_stat_activity WHERE starts_with(datname, $1) ORDER BY 1", prefix+"lru_")
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	for _, id := range []string{"a", "b", "c", "a", "d"} { // b is now the least recently used
		touch(id)
	}
	want := []string{prefix + "lru_a", prefix + "lru_c", prefix + "lru_d"}
	// A closed session leaves pg_stat_activity a moment after the client
	// closes it; poll briefly for the server to catch up.
	var got []string
	for range 50 {
		if got = sessions(); slices.Equal(got, want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("sessions on %v, want %v (b's connection, idle longest, closed for d's)", got, want)
	}
	if st := db.TenantConnStats(); st.Open != 3 || st.Idle != 3 || st.Evictions != 1 || st.Dials != 4 {
		t.Errorf("stats %+v: want 3 open and idle, 4 dials, 1 eviction", st)
	}
}

// A call waiting for a connection gives up with its context, and the
// connection it would have had goes to the next caller.
func TestOwnDatabaseWaitHonoursContext(t *testing.T) {
	for _, be := range ownDBBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db, notes := ownDBOpen(t, be.open, be.prefix, 1)
			mustCreate(t, db, "holder", "waiter")
			bg := context.Background()
			for range 3 {
				if err := notes.Insert(tenantmap.WithTenant(bg, "holder"), &ownNote{Owner: "holder"}); err != nil {
					t.Fatal(err)
				}
			}
			// holder's stream keeps the one connection while it is open.
			next, stop := iter.Pull2(notes.All(tenantmap.WithTenant(bg, "holder"), tenantmap.Query{}))
			if _, err, ok := next(); !ok || err != nil {
				t.Fatalf("holder's first row: %v %v", ok, err)
			}
			short, cancel := context.WithTimeout(tenantmap.WithTenant(bg, "waiter"), 100*time.Millisecond)
			_, err := notes.Count(short, tenantmap.Query{})
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("waiting past its deadline: %v, want context.DeadlineExceeded", err)
			}
			stop()
			if c, err := notes.Count(tenantmap.WithTenant(bg, "waiter"), tenantmap.Query{}); err != nil || c != 0 {
				t.Errorf("after the stream closed: %d, %v", c, err)
			}
		})
	}
}

// A role the server does not let create databases gets ErrPermissionDenied
// from Create, and nothing of the tenant is left.
func TestOwnDatabaseCreateRefused(t *testing.T) {
	u := rlsDatabaseURL(t) // a role without CREATEDB, owning its database
	db, err := openCreating(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ownDBPrefixes.Store(db, pgDBPrefix)
	notes, err := tenantmap.Register[ownNote](db, tenantmap.DatabasePerTenant(pgDBPrefix+"{tenant}"))
	if err != nil {
		t.Fatal(err)
	}
	before := physicalTables(t, db)
	_, err = db.Tenants().Create(context.Background(), "refused")
	if !errors.Is(err, tenantmap.ErrPermissionDenied) {
		t.Fatalf("Create without CREATEDB: %v, want ErrPermissionDenied", err)
	}
	if _, err := db.Tenants().Get(context.Background(), "refused"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
		t.Errorf("the refused tenant is in the catalog: %v", err)
	}
	if _, err := notes.Count(tenantmap.WithTenant(context.Background(), "refused"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
		t.Errorf("calls for the refused tenant: %v, want ErrTenantNotFound", err)
	}
	if after := physicalTables(t, db); !slices.Equal(before, after) {
		t.Errorf("tables changed:\n%v\n%v", before, after)
	}
	if ownDatabaseExists(t, db, "refused") {
		t.Error("the refused tenant's database exists")
	}
	// The same id works once a role that may create databases makes it.
	admin, err := openCreating(context.Background(), adminURLFor(t, u))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	t.Cleanup(func() { dropPostgresDatabases(t, pgDBPrefix+"refused") })
	if _, err := tenantmap.Register[ownNote](admin, tenantmap.DatabasePerTenant(pgDBPrefix+"{tenant}")); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Tenants().Create(context.Background(), "refused"); err != nil {
		t.Fatalf("Create by a role with CREATEDB after a refused one: %v", err)
	}
}

// adminURLFor returns u with the superuser the tests' server URL names.
func adminURLFor(t testing.TB, u string) string {
	t.Helper()
	conn, _ := pgAdmin(t)
	defer conn.Close(context.Background())
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.User = url.User(conn.Config().User)
	return parsed.String()
}

// Dropping a tenant closes its connections and removes its database; its
// id then starts afresh.
func TestOwnDatabaseDrop(t *testing.T) {
	for _, be := range ownDBBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db, notes := ownDBOpen(t, be.open, be.prefix, 4)
			mustCreate(t, db, "gone", "kept")
			bg := context.Background()
			for _, id := range []string{"gone", "kept"} {
				if err := notes.Insert(tenantmap.WithTenant(bg, id), &ownNote{Owner: id}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone")); err != nil {
				t.Fatal(err)
			}
			if _, err := notes.Count(tenantmap.WithTenant(bg, "gone"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("after Drop: %v, want ErrTenantNotFound", err)
			}
			if c, err := notes.Count(tenantmap.WithTenant(bg, "kept"), tenantmap.Query{}); err != nil || c != 1 {
				t.Errorf("kept after gone's drop: %d, %v", c, err)
			}
			mustCreate(t, db, "gone")
			if c, err := notes.Count(tenantmap.WithTenant(bg, "gone"), tenantmap.Query{}); err != nil || c != 0 {
				t.Errorf("re-created gone: %d rows, %v; want 0", c, err)
			}
		})
	}
}

// On MariaDB, a user without the right to create databases gets
// ErrPermissionDenied from Create of a DatabasePerTenant tenant, and
// nothing of the tenant is left.
func TestDatabasePerTenantRefusedMySQL(t *testing.T) {
	u := newMySQLDatabase(t)
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(parsed.Path, "/")
	admin := mysqlOpen(t) // another fresh database, for the admin statements
	user := "tm_limited_" + randomSuffix()
	adminCtx := context.Background()
	for _, stmt := range []string{
		"CREATE USER '" + user + "'@'%'",
		"GRANT ALL ON `" + dbName + "`.* TO '" + user + "'@'%'",
	} {
		if _, err := tenantmap.AdminExec(adminCtx, admin, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = tenantmap.AdminExec(adminCtx, admin, "DROP USER IF EXISTS '"+user+"'@'%'") })
	parsed.User = url.User(user)
	db, err := openCreating(context.Background(), parsed.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := tenantmap.Register[ownNote](db, tenantmap.DatabasePerTenant(mysqlDBPrefix+"{tenant}")); err != nil {
		t.Fatal(err)
	}
	before := physicalTables(t, db)
	if _, err := db.Tenants().Create(context.Background(), "refused"); !errors.Is(err, tenantmap.ErrPermissionDenied) {
		t.Fatalf("Create without the right to create databases: %v, want ErrPermissionDenied", err)
	}
	if _, err := db.Tenants().Get(context.Background(), "refused"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
		t.Errorf("the refused tenant is in the catalog: %v", err)
	}
	if after := physicalTables(t, db); !slices.Equal(before, after) {
		t.Errorf("tables changed:\n%v\n%v", before, after)
	}
}

// Tenants of one model in a shared table, in tables of their own and in
// databases of their own, side by side: each call, raw statement and
// transaction reaches its own tenant's rows only, wherever the others are.
func TestOwnDatabaseMixedPlacement(t *testing.T) {
	for _, be := range ownDBBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			db := be.open(t, 2)
			notes, err := tenantmap.Register[ownNote](db, tenantmap.SharedTable(""))
			if err != nil {
				t.Fatal(err)
			}
			bg := context.Background()
			placements := map[string]tenantmap.CreateOption{
				"s1": nil, "s2": nil,
				"t1": tenantmap.WithPlacement(tenantmap.TablePerTenant("")),
				"d1": tenantmap.WithPlacement(tenantmap.DatabasePerTenant(be.prefix + "{tenant}")),
				"d2": tenantmap.WithPlacement(tenantmap.DatabasePerTenant(be.prefix + "{tenant}")),
			}
			ids := []string{"s1", "s2", "t1", "d1", "d2"}
			for _, id := range ids {
				var opts []tenantmap.CreateOption
				if o := placements[id]; o != nil {
					opts = append(opts, o)
				}
				if _, err := db.Tenants().Create(bg, id, opts...); err != nil {
					t.Fatalf("create %s: %v", id, err)
				}
			}
			keys := map[string][]int64{}
			for round := range 3 {
				for _, id := range ids {
					n := &ownNote{Owner: id, Body: fmt.Sprint(round)}
					if err := notes.Insert(tenantmap.WithTenant(bg, id), n); err != nil {
						t.Fatalf("%s: %v", id, err)
					}
					keys[id] = append(keys[id], n.ID)
				}
			}
			for _, id := range ids {
				ctx := tenantmap.WithTenant(bg, id)
				got, err := notes.Find(ctx, tenantmap.OrderBy("id"))
				if err != nil || len(got) != 3 {
					t.Fatalf("%s: Find = %v, %v", id, got, err)
				}
				for _, n := range got {
					if n.Owner != id {
						t.Errorf("%s read %s's row %+v", id, n.Owner, n)
					}
				}
				// One raw statement for every placement.
				var c int64
				if err := db.QueryRow(ctx, "SELECT count(*) FROM {own_note} WHERE owner = ? AND {tenant}", id).Scan(&c); err != nil || c != 3 {
					t.Errorf("%s: raw count %d, %v; want 3", id, c, err)
				}
				if n, err := db.Exec(ctx, "UPDATE {own_note} SET body = ? WHERE {tenant}", "raw-"+id); err != nil || n != 3 {
					t.Errorf("%s: raw update %d, %v; want 3 rows", id, n, err)
				}
				// A transaction runs where the tenant's rows are.
				err = db.InTx(ctx, func(ctx context.Context) error {
					if err := notes.Delete(ctx, keys[id][0]); err != nil {
						return err
					}
					if c, err := notes.Count(ctx, tenantmap.Query{}); err != nil || c != 2 {
						return fmt.Errorf("count in tx %d, %v", c, err)
					}
					return errors.New("roll back")
				})
				if err == nil || err.Error() != "roll back" {
					t.Errorf("%s: InTx: %v", id, err)
				}
				// Every other tenant's keys find nothing.
				for _, other := range ids {
					if other == id {
						continue
					}
					for _, k := range keys[other] {
						if n, err := notes.Get(ctx, k); err == nil && n.Owner != id {
							t.Errorf("%s: Get(%d) returned %s's row", id, k, n.Owner)
						}
					}
				}
			}
			for _, id := range ids {
				if c, err := notes.Count(tenantmap.WithTenant(bg, id), tenantmap.Where("body = ?", "raw-"+id)); err != nil || c != 3 {
					t.Errorf("%s after the rolled-back deletes: %d of its rows, %v; want 3", id, c, err)
				}
			}
			if err := db.Tenants().Drop(bg, "d1", tenantmap.ConfirmDrop("d1")); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"s1", "s2", "t1", "d2"} {
				if c, err := notes.Count(tenantmap.WithTenant(bg, id), tenantmap.Query{}); err != nil || c != 3 {
					t.Errorf("%s after d1's drop: %d, %v; want 3", id, c, err)
				}
			}
		})
	}
}

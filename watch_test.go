package tenantmap_test

import (
	"context"
	"errors"
	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap/dialect"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// Note is a struct model whose tenants may add custom fields.
type Note struct {
	ID    int64
	Body  string
	Extra tenantmap.Extra
}

// reopenWith opens another handle on db's database, as a second process
// would, with its configuration changed by edit.
func reopenWith(t testing.TB, db *tenantmap.DB, edit func(*tenantmap.Config)) *tenantmap.DB {
	t.Helper()
	v, ok := openConfigs.Load(db)
	if !ok {
		t.Fatal("reopenWith: the handle was not made by a test opener")
	}
	c := *v.(*tenantmap.Config)
	edit(&c)
	other, err := openConfigCreating(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	openConfigs.Store(other, &c)
	for _, m := range []*sync.Map{&sqliteFiles, &ownDBPrefixes, &databaseStrategyDBs} {
		if v, ok := m.Load(db); ok {
			m.Store(other, v)
		}
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// twoProcesses opens a handle on a fresh database of backend b and a second
// one on the same database, registers Note on both and creates tenants.
func twoProcesses(t *testing.T, b backend, edit func(*tenantmap.Config), tenants ...string) (a, other *tenantmap.DB, na, nb *tenantmap.Table[Note]) {
	t.Helper()
	a = b.open(t)
	var err error
	if na, err = tenantmap.Register[Note](a, b.strategy("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, tenants...)
	if edit == nil {
		edit = func(*tenantmap.Config) {}
	}
	other = reopenWith(t, a, edit)
	if nb, err = tenantmap.Register[Note](other, b.strategy("{tenant}_note")); err != nil {
		t.Fatal(err)
	}
	return a, other, na, nb
}

// waitFor calls cond until it holds or 10 s pass, and returns how long that
// took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("after 10 s, still not: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// A custom field one process adds is used by another process's next calls
// for the tenant, without a restart, through its watch of the catalog —
// and not by its calls for another tenant.
func TestWatchCustomFieldReachesOtherProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		a, other, na, nb := twoProcesses(t, b, nil, "acme", "globex")
		ctx := tctx("acme")
		n := &Note{Body: "first"}
		if err := na.Insert(ctx, n); err != nil {
			t.Fatal(err)
		}
		before, err := nb.Get(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if before.Extra.Has("sla") {
			t.Fatal("a field that does not exist yet was read")
		}
		if _, err := nb.Get(tctx("globex"), int64(1)); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Fatalf("globex: want ErrNotFound, got %v", err) // caches globex's mapping too
		}
		if err := a.Tenants().AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 24}); err != nil {
			t.Fatal(err)
		}
		took := waitFor(t, "the other process reads acme's new field", func() bool {
			got, err := nb.Get(ctx, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Extra.Has("sla")
		})
		t.Logf("%s: the other process used the new column after %v (watch %v)", b.name, took, other.WatchStats().Mode)
		got, _ := nb.Get(ctx, n.ID)
		if got.Extra.Int64("sla") != 24 {
			t.Errorf("sla: want the default 24, got %v", got.Extra.Get("sla"))
		}
		// The other process writes the field, and the first reads it.
		w := &Note{Body: "second"}
		w.Extra.Set("sla", 48)
		if err := nb.Insert(ctx, w); err != nil {
			t.Fatal(err)
		}
		back, err := na.Get(ctx, w.ID)
		if err != nil || back.Extra.Int64("sla") != 48 {
			t.Fatalf("first process reads %v, %v; want sla 48", back, err)
		}
		// globex is untouched.
		g := &Note{Body: "g"}
		g.Extra.Set("sla", 1)
		var ve *tenantmap.ValidationError
		if err := nb.Insert(tctx("globex"), g); !errors.As(err, &ve) || ve.Field("sla") == "" {
			t.Fatalf("globex writing acme's field: want a ValidationError on sla, got %v", err)
		}
		if other.WatchStats().Changes == 0 {
			t.Error("the other process counted no change")
		}
	})
}

// Suspending and dropping a tenant reach the other process too.
func TestWatchLifecycleReachesOtherProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		a, other, na, nb := twoProcesses(t, b, nil, "acme")
		ctx := tctx("acme")
		n := &Note{Body: "x"}
		if err := na.Insert(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := nb.Get(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if err := a.Tenants().Suspend(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the other process refuses the suspended tenant", func() bool {
			_, err := nb.Get(ctx, n.ID)
			return errors.Is(err, tenantmap.ErrTenantSuspended)
		})
		if err := a.Tenants().Resume(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the other process serves the resumed tenant", func() bool {
			_, err := nb.Get(ctx, n.ID)
			return err == nil
		})
		// The other process learns of the drop before it next calls: its
		// stale mapping would send a call to a database that is gone, which
		// PgBouncer answers by holding the client, then refusing logins to
		// that name for a while.
		changes := other.WatchStats().Changes
		if err := a.Tenants().Drop(context.Background(), "acme", tenantmap.ConfirmDrop("acme")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the other process learns of the drop", func() bool { return other.WatchStats().Changes > changes })
		waitFor(t, "the other process refuses the dropped tenant", func() bool {
			_, err := nb.Get(ctx, n.ID)
			return errors.Is(err, tenantmap.ErrTenantNotFound)
		})
	})
}

// A process that does not watch still recovers from a stale mapping: a
// statement naming a column another process dropped is refused by the
// database, and the call reloads the mapping once and runs again — outside
// a transaction only.
func TestStaleMappingRetried(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		a, other, na, nb := twoProcesses(t, b, func(c *tenantmap.Config) { c.Watch = tenantmap.WatchOff }, "acme")
		if isShared(b) {
			t.Skip("a shared table's custom fields are one JSON column: dropping a field drops no column")
		}
		ctx := tctx("acme")
		ts := a.Tenants()
		if err := ts.AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
			t.Fatal(err)
		}
		n := &Note{Body: "x"}
		n.Extra.Set("sla", 5)
		if err := nb.Insert(ctx, n); err != nil { // builds the other process's mapping with sla
			t.Fatal(err)
		}
		if err := ts.DropField(ctx, "acme", "note", "sla"); err != nil {
			t.Fatal(err)
		}
		// In a transaction the failed statement aborted it: no retry.
		err := other.InTx(ctx, func(ctx context.Context) error {
			_, err := nb.Get(ctx, n.ID)
			return err
		})
		if err == nil {
			t.Fatal("a stale mapping inside a transaction: want the database's error, got none")
		}
		builds := other.Registry().Stats().Builds
		got, err := nb.Get(ctx, n.ID)
		if err != nil {
			t.Fatalf("outside a transaction the stale mapping is reloaded: %v", err)
		}
		if got.Extra.Has("sla") || got.Body != "x" {
			t.Fatalf("got %+v, want the row without the dropped field", got)
		}
		if other.Registry().Stats().Builds <= builds {
			t.Error("the mapping was not rebuilt")
		}
		// A write with the dropped field is refused by validation after the
		// reload, before any SQL.
		if err := ts.AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "due", Type: "time", Nullable: true}); err != nil {
			t.Fatal(err)
		}
		if err := ts.RenameField(ctx, "acme", "note", "due", "deadline"); err != nil {
			t.Fatal(err)
		}
		w := &Note{Body: "y"}
		if err := nb.Insert(ctx, w); err != nil {
			t.Fatalf("insert after a rename behind the process's back: %v", err)
		}
		if _, err := na.Get(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if other.WatchStats().Mode != tenantmap.WatchOff {
			t.Fatalf("mode %v, want WatchOff", other.WatchStats().Mode)
		}
	})
}

// When the listening connection is lost, the DB listens again and, since
// notifications sent meanwhile are gone, drops every mapping once; later
// changes reach it again.
func TestWatchListenReconnects(t *testing.T) {
	b := backendNamed(t, "postgres/table")
	a, other, na, nb := twoProcesses(t, b, nil, "acme")
	if other.WatchStats().Mode != tenantmap.WatchListen {
		t.Fatalf("mode %v, want WatchListen", other.WatchStats().Mode)
	}
	ctx := tctx("acme")
	n := &Note{Body: "x"}
	if err := na.Insert(ctx, n); err != nil {
		t.Fatal(err)
	}
	v, _ := openConfigs.Load(other)
	conn, err := pgx.Connect(context.Background(), v.(*tenantmap.Config).DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Both handles listen; end every listening session but this one's.
	tag, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()")
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() < 2 {
		t.Fatalf("ended %d listening sessions, want both handles'", tag.RowsAffected())
	}
	waitFor(t, "the other process listens again", func() bool { return other.WatchStats().Resets > 0 })
	if _, err := nb.Get(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Tenants().AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change after the reconnection reaches the other process", func() bool {
		got, err := nb.Get(ctx, n.ID)
		return err == nil && got.Extra.Has("sla")
	})
}

// Polling works on PostgreSQL too (behind a transaction pooler, where
// LISTEN cannot).
func TestWatchPollOnPostgres(t *testing.T) {
	b := backendNamed(t, "postgres/table")
	a, other, na, nb := twoProcesses(t, b, func(c *tenantmap.Config) {
		c.Watch = tenantmap.WatchPoll
		c.PollInterval = 20 * time.Millisecond
	}, "acme")
	if other.WatchStats().Mode != tenantmap.WatchPoll {
		t.Fatalf("mode %v, want WatchPoll", other.WatchStats().Mode)
	}
	ctx := tctx("acme")
	n := &Note{Body: "x"}
	if err := na.Insert(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.Get(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Tenants().AddField(context.Background(), "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Default: 1}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "the poller applies the change", func() bool {
		got, err := nb.Get(ctx, n.ID)
		return err == nil && got.Extra.Has("sla")
	})
	t.Logf("polling every 20 ms: %v", took)
}

// A migration reaches the other processes too: on PostgreSQL not by a
// notification per tenant (a notifying commit takes a lock every other
// notifying commit waits for) but by Migrate telling listeners to read the
// change log.
func TestWatchMigrationReachesOtherProcess(t *testing.T) {
	for _, name := range []string{"postgres/table", "sqlite/table", "mysql/table"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backendNamed(t, name)
			a, other, _, nb := twoProcesses(t, b, nil, "t1", "t2", "t3")
			for _, id := range []string{"t1", "t2", "t3"} {
				if _, err := nb.Count(tctx(id), tenantmap.Query{}); err != nil {
					t.Fatal(err)
				}
			}
			before := other.WatchStats().Changes
			if err := a.SetMigrations(tenantmap.Migration{Version: 1, Name: "note tags", Steps: []tenantmap.Step{
				tenantmap.AddColumn("note", tenantmap.Column{Name: "tags", Kind: dialect.String, Nullable: true}),
			}}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Migrate(context.Background(), tenantmap.MigrateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the other process learns of the three migrations", func() bool {
				return other.WatchStats().Changes >= before+3
			})
			if n := other.Registry().Stats().Size; n != 0 {
				t.Errorf("the other process still holds %d mappings of migrated tenants", n)
			}
		})
	}
}

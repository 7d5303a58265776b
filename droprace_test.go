package tenantmap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestDropExcludesOpenTransaction is item 2 of issue 12: a transaction open
// for a tenant while Drop ran committed a row into the shared table after
// Drop had deleted the tenant's rows, and a new tenant of the same id read
// it. Whatever the order in which the two finish, nothing the dropped
// tenant wrote may reach the new tenant of its id, on every backend.
func TestDropExcludesOpenTransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		skipOwnDatabaseDrop(t, b)
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "dr", "keep")
		if err := notes.Insert(tctx("keep"), &isoNote{Owner: "keep", Body: "k"}); err != nil {
			t.Fatal(err)
		}
		if err := notes.Insert(tctx("dr"), &isoNote{Owner: "dr", Body: "before"}); err != nil {
			t.Fatal(err)
		}
		inserted, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		var txErr, dropErr error
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(tctx("dr"), 60*time.Second)
			defer cancel()
			txErr = db.InTx(ctx, func(ctx context.Context) error {
				if err := notes.Insert(ctx, &isoNote{Owner: "dr", Body: "in the open transaction"}); err != nil {
					close(inserted)
					return err
				}
				close(inserted)
				<-release
				return nil
			})
		})
		<-inserted
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dropErr = db.Tenants().Drop(ctx, "dr", tenantmap.ConfirmDrop("dr"))
		})
		time.Sleep(300 * time.Millisecond) // Drop is under way, or waiting for the transaction
		close(release)
		wg.Wait()
		if dropErr != nil {
			t.Fatalf("Drop with a transaction open: %v (the transaction: %v)", dropErr, txErr)
		}
		t.Logf("the transaction: %v", txErr)
		if _, err := db.Tenants().Create(context.Background(), "dr"); err != nil {
			t.Fatalf("Create of the dropped id: %v", err)
		}
		got, err := notes.Find(tctx("dr"), tenantmap.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("the new tenant dr holds %d rows of the dropped one: %+v", len(got), got)
		}
		if n, err := notes.Count(tctx("keep"), tenantmap.Query{}); err != nil || n != 1 {
			t.Errorf("the other tenant's rows: %d, %v; want 1", n, err)
		}
	})
}

// TestDropFencesOtherProcesses is item 3 of issue 12: a second handle (a
// second process) that had the tenant cached inserted right after the
// drop, before it heard of it, and the new tenant of the same id saw the
// row. The database itself must refuse the write.
func TestDropFencesOtherProcesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		skipOwnDatabaseDrop(t, b)
		db, notes := isoRegister(t, b)
		other := reopen(t, db)
		notes2, err := tenantmap.Register[isoNote](other, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "dx")
		if err := notes2.Insert(tctx("dx"), &isoNote{Owner: "dx", Body: "cached"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Tenants().Drop(context.Background(), "dx", tenantmap.ConfirmDrop("dx")); err != nil {
			t.Fatal(err)
		}
		// At once, before the other handle hears of the drop.
		err = notes2.Insert(tctx("dx"), &isoNote{Owner: "dx", Body: "after the drop"})
		if !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("an insert through a handle that cached the dropped tenant: %v, want ErrTenantNotFound", err)
		}
		if _, err := db.Tenants().Create(context.Background(), "dx"); err != nil {
			t.Fatalf("Create of the dropped id: %v", err)
		}
		for name, tbl := range map[string]*tenantmap.Table[isoNote]{"the first handle": notes, "the second handle": notes2} {
			got, err := tbl.Find(tctx("dx"), tenantmap.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("through %s, the new tenant dx holds %d rows of the dropped one: %+v", name, len(got), got)
			}
		}
	})
}

// skipOwnDatabaseDrop skips the backends where a tenant has a database of
// its own, whose drop races are items 4 and the PgBouncer items of issue
// 12, not yet fixed: SQLite hands a dropped tenant's connection to the new
// tenant of its id, and PostgreSQL's DROP DATABASE … WITH (FORCE) ends the
// other handle's sessions with an untyped FATAL (through PgBouncer, a
// server_login_retry that outlasts the test).
func skipOwnDatabaseDrop(t *testing.T, b backend) {
	t.Helper()
	if isOwnDB(b) {
		t.Skip("a database per tenant: issue 12 item 4 and the PgBouncer drop items are open")
	}
}

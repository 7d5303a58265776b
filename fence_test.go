package tenantmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// fencePair opens two handles on one database, as two processes, with the
// note model registered on both, and creates tenant "gone" with one row.
func fencePair(t *testing.T, b backend) (*tenantmap.DB, *tenantmap.DB, *tenantmap.Table[isoNote], *tenantmap.Table[isoNote]) {
	t.Helper()
	db := b.open(t)
	notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "gone")
	other := reopen(t, db)
	otherNotes, err := tenantmap.Register[isoNote](other, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenantmap.WithTenant(context.Background(), "gone")
	// The other handle has the tenant cached.
	if err := otherNotes.Insert(ctx, &isoNote{Owner: "gone", Body: "before"}); err != nil {
		t.Fatal(err)
	}
	return db, other, notes, otherNotes
}

// recreatedIsEmpty re-creates "gone" and checks that it holds no row.
func recreatedIsEmpty(t *testing.T, db *tenantmap.DB, notes *tenantmap.Table[isoNote]) {
	t.Helper()
	bg := context.Background()
	if _, err := db.Tenants().Create(bg, "gone"); err != nil {
		t.Fatalf("re-creating the dropped tenant: %v", err)
	}
	got, err := notes.Find(tenantmap.WithTenant(bg, "gone"), tenantmap.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("the re-created tenant holds the dropped tenant's rows: %+v", got)
	}
}

// TestDropFencesOtherProcess: a second handle that still has the tenant
// cached cannot write after the drop; the database refuses the write with
// ErrTenantNotFound, and a new tenant of the same id starts empty (issue
// 12 item 3).
func TestDropFencesOtherProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		skipKnownDropRaces(t, b)
		bg := context.Background()
		db, _, notes, otherNotes := fencePair(t, b)
		if err := db.Tenants().Drop(bg, "gone", tenantmap.ConfirmDrop("gone")); err != nil {
			t.Fatal(err)
		}
		ctx := tenantmap.WithTenant(bg, "gone")
		err := otherNotes.Insert(ctx, &isoNote{Owner: "gone", Body: "after"})
		if err == nil {
			t.Errorf("an insert by another handle after the drop succeeded")
		} else if isShared(b) && !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("an insert by another handle after the drop: %v, want ErrTenantNotFound", err)
		}
		recreatedIsEmpty(t, db, notes)
	})
}

// TestDropWaitsForOpenTx: a transaction open for the tenant while Drop
// runs either commits before the drop (which then removes its rows) or
// fails; nothing it wrote is in a new tenant of the same id (issue 12
// item 2).
func TestDropWaitsForOpenTx(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		skipKnownDropRaces(t, b)
		bg := context.Background()
		db, other, notes, otherNotes := fencePair(t, b)
		ctx := tenantmap.WithTenant(bg, "gone")
		dropped := make(chan error, 1)
		txErr := other.InTx(ctx, func(ctx context.Context) error {
			if err := otherNotes.Insert(ctx, &isoNote{Owner: "gone", Body: "in tx"}); err != nil {
				return err
			}
			go func() {
				dctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				dropped <- db.Tenants().Drop(dctx, "gone", tenantmap.ConfirmDrop("gone"))
			}()
			time.Sleep(300 * time.Millisecond) // the drop runs meanwhile
			return otherNotes.Insert(ctx, &isoNote{Owner: "gone", Body: "late in tx"})
		})
		if txErr != nil {
			t.Logf("the open transaction failed (allowed): %v", txErr)
		}
		if err := <-dropped; err != nil {
			t.Fatalf("drop: %v", err)
		}
		recreatedIsEmpty(t, db, notes)
	})
}

// skipKnownDropRaces skips the backends whose drop races are other items
// of issue 12: PgBouncer with a database per tenant (a dropped database's
// clients hang in the pooler).
func skipKnownDropRaces(t *testing.T, b backend) {
	t.Helper()
	switch b.name {
	case "pgbouncer/database":
		t.Skip("issue 12: PgBouncer holds a client sent to a dropped database (its own item)")
	}
}

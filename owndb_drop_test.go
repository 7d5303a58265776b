package tenantmap_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestDropRetiresHeldConnection: a connection to a tenant's own database
// held by a call while Drop runs is closed when the call ends, never given
// to the new tenant of the same id (issue 12 item 4), which starts empty
// and keeps its writes.
func TestDropRetiresHeldConnection(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if !isOwnDB(b) || b.name == "pgbouncer/database" {
			t.Skip("a tenant database of its own, reached directly")
		}
		bg := context.Background()
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "held")
		if err := notes.Insert(tctx("held"), &isoNote{Owner: "held", Body: "old"}); err != nil {
			t.Fatal(err)
		}
		dropped := make(chan error, 1)
		txErr := db.InTx(tctx("held"), func(ctx context.Context) error {
			if _, err := notes.Find(ctx, tenantmap.Query{}); err != nil {
				return err
			}
			go func() {
				dctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				dropped <- db.Tenants().Drop(dctx, "held", tenantmap.ConfirmDrop("held"))
			}()
			time.Sleep(300 * time.Millisecond)
			_, err := notes.Find(ctx, tenantmap.Query{})
			return err
		})
		t.Logf("the transaction held during the drop: %v", txErr)
		if err := <-dropped; err != nil {
			t.Fatalf("drop: %v", err)
		}
		if _, err := db.Tenants().Create(bg, "held"); err != nil {
			t.Fatalf("Create of the dropped id: %v", err)
		}
		for i := 0; i < 3; i++ { // every pooled connection
			got, err := notes.Find(tctx("held"), tenantmap.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != i {
				t.Fatalf("the new tenant holds %+v, want %d rows of its own", got, i)
			}
			if err := notes.Insert(tctx("held"), &isoNote{Owner: "held", Body: "new"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

package tenantmap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestCreateCutShort: a Create cut short by its context's deadline, at any
// point, leaves the id free: Create again succeeds (issue 12, faults).
func TestCreateCutShort(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name == "pgbouncer/database" || b.name == "postgres/database" {
			t.Skip("a database per tenant on PostgreSQL: a Create cut short during CREATE DATABASE can still leave the database (ErrNameConflict on the next Create); open in issue 12")
		}
		bg := context.Background()
		db, _ := isoRegister(t, b)
		for ms := 1; ms <= 120; ms += 7 {
			ctx, cancel := context.WithTimeout(bg, time.Duration(ms)*time.Millisecond)
			_, cutErr := db.Tenants().Create(ctx, "cut")
			cancel()
			_, err := db.Tenants().Create(bg, "cut")
			if errors.Is(err, tenantmap.ErrTenantExists) {
				// The cut-short Create completed after all (its COMMIT
				// reached the server): the id is a whole tenant, not stuck.
				if _, gerr := db.Tenants().Get(bg, "cut"); gerr == nil {
					err = nil
				}
			}
			if err != nil {
				t.Fatalf("deadline %d ms (the cut-short Create: %v): Create again: %v", ms, cutErr, err)
			}
			if err := db.Tenants().Drop(bg, "cut", tenantmap.ConfirmDrop("cut")); err != nil {
				t.Fatalf("deadline %d ms: drop: %v", ms, err)
			}
		}
	})
}

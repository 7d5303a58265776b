package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// undoTimeout bounds the undo of a Create cut short by its context.
const undoTimeout = 30 * time.Second

// undoCutShort removes what a Create cut short by its context's end left
// behind: a statement can reach the server, or a COMMIT be applied, after
// the driver gave up waiting for its answer, leaving a catalog row (and on
// MySQL no tables) that made the id impossible to create again. The row
// is the Create's own if its created_at is this Create's; then the tenant
// is dropped, on a context of its own (the caller's has ended).
func (ts *Tenants) undoCutShort(ctx context.Context, id string, createdAt time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	t, err := ts.db.cat.get(ctx, ts.db.be, id)
	if errors.Is(err, ErrTenantNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking what the cut-short Create left (drop the tenant if it is there): %w", err)
	}
	if !t.CreatedAt.Equal(createdAt) {
		return nil // another Create's tenant
	}
	if err := ts.drop(ctx, id, ConfirmDrop(id), true); err != nil {
		return fmt.Errorf("undoing the cut-short Create (drop the tenant to finish): %w", err)
	}
	return nil
}

package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DropOption changes how Drop drops a tenant.
type DropOption func(*dropOptions)

type dropOptions struct{ retain time.Duration }

// Retain makes Drop soft: the tenant is marked dropped and its data kept
// for d, until Purge (run after d has passed) removes it for good. A d of
// zero or less drops at once.
func Retain(d time.Duration) DropOption { return func(o *dropOptions) { o.retain = d } }

// ErrTenantStatus: a lifecycle call does not apply to the tenant's status
// (Resume of a tenant that is not suspended, Restore of one not dropped, …).
var ErrTenantStatus = errors.New("tenantmap: wrong tenant status")

// Suspend stops all calls for a tenant: they fail with ErrTenantSuspended
// until Resume. Nothing else changes: its tables, rows and placement stay
// as they are, and migrations still apply to it. Mappings this DB cached for
// the tenant are dropped at once; another process's are dropped when it
// next rebuilds them (cross-process invalidation is not yet in place).
func (ts *Tenants) Suspend(ctx context.Context, id string) error {
	return opError("suspend tenant", id, "", ts.setStatus(ctx, id, StatusActive, StatusSuspended, nil))
}

// Resume lets a suspended tenant's calls through again.
func (ts *Tenants) Resume(ctx context.Context, id string) error {
	return opError("resume tenant", id, "", ts.setStatus(ctx, id, StatusSuspended, StatusActive, nil))
}

// Restore brings back a tenant dropped with Retain whose data has not been
// purged yet, as an active tenant (whatever its status before the drop). Its tables are at the migration version they had when it was
// dropped: run Migrate if migrations were added since.
func (ts *Tenants) Restore(ctx context.Context, id string) error {
	return opError("restore tenant", id, "", ts.setStatus(ctx, id, StatusDropped, StatusActive, nil))
}

func (ts *Tenants) softDrop(ctx context.Context, id string, confirm DropConfirmation, retain time.Duration) error {
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	if confirm.id != id {
		return fmt.Errorf("%w: pass tenantmap.ConfirmDrop(%q)", ErrDropNotConfirmed, id)
	}
	until := time.Now().UTC().Add(retain).Truncate(time.Microsecond)
	t, err := ts.db.cat.get(ctx, ts.db.be, id)
	if err != nil {
		return err
	}
	switch t.Status {
	case StatusDropped:
		return fmt.Errorf("%w: %q is dropped already (purge after %s); Drop it without Retain to remove it now", ErrTenantStatus, id, t.PurgeAfter.Format(time.RFC3339))
	case StatusPurging:
		return fmt.Errorf("%w: %q is being purged", ErrTenantStatus, id)
	}
	return ts.setStatus(ctx, id, t.Status, StatusDropped, &until)
}

// setStatus moves a tenant from status from to status to, bumping its
// placement version, and drops its cached mappings.
func (ts *Tenants) setStatus(ctx context.Context, id string, from, to TenantStatus, purgeAfter *time.Time) error {
	db := ts.db
	if err := ValidateTenantID(id); err != nil {
		return err
	}
	n, err := db.be.exec(ctx, db.cat.setStatusSQL, to, purgeAfter, id, from)
	db.reg.InvalidateTenant(id)
	if err != nil {
		return err
	}
	if n == 1 {
		return db.cat.logged(ctx, db.be, id, nil)
	}
	t, err := db.cat.get(ctx, db.be, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: tenant %q is %s, not %s", ErrTenantStatus, id, t.Status, from)
}

// Purge removes for good every tenant dropped with Retain whose retention
// ended at or before now, as Drop without Retain would, and returns their
// ids. It stops at the first tenant it cannot remove; running it again
// goes on from there.
func (ts *Tenants) Purge(ctx context.Context, now time.Time) ([]string, error) {
	db := ts.db
	r, err := db.be.query(ctx, db.cat.expiredSQL, now.UTC())
	if err != nil {
		return nil, opError("purge tenants", "", "", err)
	}
	var ids []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			r.Close()
			return nil, opError("purge tenants", "", "", err)
		}
		ids = append(ids, id)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, opError("purge tenants", "", "", err)
	}
	var purged []string
	for _, id := range ids {
		// Claim it first: a tenant restored since the listing is not
		// expired any more, and is left alone.
		n, err := db.be.exec(ctx, db.cat.purgeClaimSQL, id, now.UTC())
		if err != nil {
			return purged, opError("purge tenant", id, "", err)
		}
		if n != 1 {
			continue
		}
		if err := db.cat.logged(ctx, db.be, id, nil); err != nil {
			return purged, opError("purge tenant", id, "", err)
		}
		db.reg.InvalidateTenant(id)
		if err := ts.drop(ctx, id, ConfirmDrop(id), true); err != nil {
			return purged, opError("purge tenant", id, "", err)
		}
		purged = append(purged, id)
	}
	return purged, nil
}

// Placement is where one model of one tenant lives, as the catalog records
// it.
type Placement struct {
	Model    string
	Strategy string // "table", "schema", "database" or "shared"
	Database string // a database of the tenant's own, reached on connections of its own; "" for the DB's
	Schema   string // "" where the dialect has none
	Table    string
}

// Placements lists where each model of a tenant lives, by model name.
// Models registered after the tenant was made, and not yet given a table
// by a migration, are not listed.
func (ts *Tenants) Placements(ctx context.Context, id string) ([]Placement, error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, opError("placements", id, "", err)
	}
	if _, err := ts.db.cat.get(ctx, ts.db.be, id); err != nil {
		return nil, opError("placements", id, "", err)
	}
	ps, err := ts.db.cat.placements(ctx, ts.db.be, id)
	if err != nil {
		return nil, opError("placements", id, "", err)
	}
	out := make([]Placement, 0, len(ps))
	for model, p := range ps {
		out = append(out, Placement{Model: model, Strategy: strategyNames[p.kind], Database: p.database, Schema: p.schema, Table: p.table})
	}
	slices.SortFunc(out, func(a, b Placement) int { return strings.Compare(a.Model, b.Model) })
	return out, nil
}

// ParseStrategy reads a strategy as a command line names it: "table",
// "schema", "database" or "shared", optionally followed by ":" and a name
// template ("table:{tenant}_case"); an empty template takes the default.
// A table or shared template may hold {model} (ModelToken), the model's
// name, so that it places each model apart: "table:t_{tenant}_{model}".
func ParseStrategy(s string) (Strategy, error) {
	kind, template, _ := strings.Cut(s, ":")
	switch kind {
	case "table":
		return TablePerTenant(template), nil
	case "schema":
		return SchemaPerTenant(template), nil
	case "database":
		return DatabasePerTenant(template), nil
	case "shared":
		return SharedTable(template), nil
	}
	return Strategy{}, fmt.Errorf("%w: unknown strategy %q (table, schema, database or shared)", ErrInvalidModel, kind)
}

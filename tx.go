package tenantmap

import (
	"context"
)

type ctxTxKey struct{}

// txState is a transaction of one tenant, carried in a context.
type txState struct {
	db       *DB
	tenant   string
	database string // the tenant's own database the transaction is on; "" for the DB's
	be       txBackend
	mig      *migrationScope // set in a migration's transaction: mappings come from it, not the registry
}

// mappingFor returns the tenant's mapping of b for a call made in tx (nil
// outside a transaction): from the registry, or inside a migration from the
// migration's own view of the catalog (which may hold its uncommitted
// changes, and which works for suspended tenants too).
func (db *DB) mappingFor(ctx context.Context, tx *txState, b *binding, tenant string) (*mapping, error) {
	if tx != nil && tx.mig != nil {
		return tx.mig.mapping(ctx, b)
	}
	return db.mapping(ctx, b, tenant)
}

func txFrom(ctx context.Context, db *DB) *txState {
	tx, _ := ctx.Value(ctxTxKey{}).(*txState)
	if tx == nil || tx.db != db {
		return nil
	}
	return tx
}

// InTx runs fn in one transaction for the context's tenant. Every table
// call and raw statement fn makes with the context it is given joins the
// transaction, whatever the model; a call for another tenant fails with
// ErrTenantMismatch. The transaction commits if fn returns nil and rolls
// back if it returns an error or panics. An InTx inside another joins it.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	id, err := tenantOf(ctx, "")
	if err != nil {
		return opError("transaction", "", "", err)
	}
	if outer := txFrom(ctx, db); outer != nil {
		if outer.tenant != id {
			return opError("transaction", id, "", ErrTenantMismatch)
		}
		return fn(ctx)
	}
	if err := ValidateTenantID(id); err != nil {
		return opError("transaction", id, "", err)
	}
	// A tenant with a database of its own has its transactions there.
	database, err := db.homeDatabase(ctx, id)
	if err != nil {
		return opError("transaction", id, "", err)
	}
	return inTx(ctx, db.backendFor(id, database), func(q querier) error {
		return fn(context.WithValue(ctx, ctxTxKey{}, &txState{db: db, tenant: id, database: database, be: q.(txBackend)}))
	})
}

package tenantmap

import (
	"context"
	"fmt"
)

type ctxTxKey struct{}

// txState is a transaction of one tenant, carried in a context.
type txState struct {
	db       *DB
	tenant   string
	database string // the tenant's own database the transaction is on; "" for the DB's
	be       txBackend
	mig      *migrationScope // set in a migration's transaction: mappings come from it, not the registry
	opts     txOptions       // how InTx began it
}

func readOnlyNote(o txOptions) string {
	if o.readOnly {
		return ", read-only"
	}
	return ""
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
// back if it returns an error or panics. An InTx inside another joins it;
// its options must then be none or the outer transaction's
// (ErrInvalidTxOption).
//
// Only the context fn is given carries the transaction. A call inside fn
// made with the outer context (ctx, not fn's argument) runs outside the
// transaction, on another connection: it is not rolled back with it, does
// not see its uncommitted writes and, where it writes what the transaction
// has locked, waits for the transaction to end — on SQLite, whose writer
// holds the database's write lock, until the busy timeout, then fails.
//
// opts set the isolation level (Isolation) and make the transaction
// read-only (ReadOnly).
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error, opts ...TxOption) error {
	id, err := tenantOf(ctx, "")
	if err != nil {
		return opError("transaction", "", "", err)
	}
	o, err := collectTxOptions(opts)
	if err != nil {
		return opError("transaction", id, "", err)
	}
	if outer := txFrom(ctx, db); outer != nil {
		if outer.tenant != id {
			return opError("transaction", id, "", ErrTenantMismatch)
		}
		if len(opts) > 0 && o != outer.opts {
			return opError("transaction", id, "", fmt.Errorf("%w: a nested InTx joins the outer transaction (%s%s) and cannot change it to %s%s",
				ErrInvalidTxOption, outer.opts.isolation, readOnlyNote(outer.opts), o.isolation, readOnlyNote(o)))
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
	// fn's own error is returned as fn made it; begin's and commit's are
	// wrapped (errclass.go classifies them: ErrRetryable, ErrCommitUnknown).
	fnFailed := false
	err = inTx(withTxOptions(ctx, o), db.backendFor(id, database), func(q querier) error {
		err := fn(context.WithValue(ctx, ctxTxKey{}, &txState{db: db, tenant: id, database: database, be: q.(txBackend), opts: o}))
		fnFailed = err != nil
		return err
	})
	if err != nil && !fnFailed {
		return opError("transaction", id, "", err)
	}
	return err
}

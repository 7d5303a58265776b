package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// A shared table's fence: the database itself refuses a row whose tenant
// the catalog does not have, in the statement that writes it. Without it a
// transaction open while Drop ran, or another process that still had the
// tenant cached, could write a row after the drop, and a new tenant of the
// same id would find it (issue 12, items 2 and 3).
//
// On PostgreSQL and MySQL the fence is a foreign key from the table's
// tenant column to the catalog's tenant row, ON DELETE CASCADE: a writer
// holds a share lock on the row until it commits, so Drop's delete of the
// row waits for it and then removes what it wrote, and a writer after the
// drop fails. On SQLite, where one writer runs at a time, it is a trigger
// that refuses an insert for a tenant the catalog lacks.
//
// A tenant dropped with Retain keeps its catalog row until Purge: a stale
// writer can still add to its retained rows (they are its own, and go with
// the Purge), never to a new tenant's.

// fencePrefix begins every fence's name.
const fencePrefix = "tm_fence_"

// fenceMessage is the message of the SQLite fence's abort.
const fenceMessage = "tenantmap fence: the tenant does not exist"

// fenceName is the name of table's fence, shortened to fit the dialect.
func fenceName(d dialect.Dialect, table string) string {
	return fitIdent(fencePrefix+table, d.MaxIdentifierLength())
}

// ensureFences gives every shared table the catalog records a fence it
// lacks: tables made before fences existed get theirs when a handle opens.
func (db *DB) ensureFences(ctx context.Context) error {
	tables, err := db.cat.sharedTables(ctx, db.be)
	if err != nil || len(tables) == 0 {
		return err
	}
	if db.dialect.Features()&dialect.TransactionalDDL == 0 {
		return db.fenceTables(ctx, db.be, tables)
	}
	return inTx(ctx, db.be, func(tx querier) error {
		if db.cat.lockSQL != "" {
			if _, err := tx.exec(ctx, db.cat.lockSQL); err != nil {
				return err
			}
		}
		return db.fenceTables(ctx, tx, tables)
	})
}

// fenceTables adds the fence of each shared table that lacks one.
func (db *DB) fenceTables(ctx context.Context, q querier, tables []placement) error {
	for _, p := range tables {
		if err := db.fenceTable(ctx, q, p.schema, p.table); err != nil {
			return fmt.Errorf("fencing the shared table %s: %w", qualified(p.schema, p.table), err)
		}
	}
	return nil
}

// fenceTable adds one shared table's fence if it lacks it.
func (db *DB) fenceTable(ctx context.Context, q querier, schema, table string) error {
	d := db.dialect
	name := fenceName(d, table)
	qtable := qualifiedIdent(d, schema, table)
	qcat := qualifiedIdent(d, db.cfg.Schema, CatalogTable)
	tcol := dialect.Quote(d, TenantColumn)
	switch d.Name() {
	case "sqlite":
		_, err := q.exec(ctx, "CREATE TRIGGER IF NOT EXISTS "+dialect.Quote(d, name)+" BEFORE INSERT ON "+qtable+
			" WHEN NOT EXISTS (SELECT 1 FROM "+qcat+" WHERE "+dialect.Quote(d, "id")+"=NEW."+tcol+")"+
			" BEGIN SELECT RAISE(ABORT, '"+fenceMessage+"'); END")
		return err
	case "postgres":
		var n int
		if err := q.queryRow(ctx, "SELECT count(*) FROM pg_constraint WHERE conname=$1 AND conrelid=to_regclass($2)", name, qtable).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		// NOT VALID: rows already there are not checked (a table made
		// before fences may hold a dropped tenant's leftovers); every
		// write from now on is.
		_, err := q.exec(ctx, "ALTER TABLE "+qtable+" ADD CONSTRAINT "+dialect.Quote(d, name)+" FOREIGN KEY ("+tcol+") REFERENCES "+qcat+
			" ("+dialect.Quote(d, "id")+") ON DELETE CASCADE NOT VALID")
		return err
	case "mysql":
		has := func() (bool, error) {
			var n int
			err := q.queryRow(ctx, "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA=COALESCE(NULLIF(?,''),DATABASE()) AND TABLE_NAME=? AND CONSTRAINT_NAME=?",
				schema, table, name).Scan(&n)
			return n > 0, err
		}
		if ok, err := has(); err != nil || ok {
			return err
		}
		_, err := q.exec(ctx, "ALTER TABLE "+qtable+" ADD CONSTRAINT "+dialect.Quote(d, name)+" FOREIGN KEY ("+tcol+") REFERENCES "+qcat+
			" ("+dialect.Quote(d, "id")+") ON DELETE CASCADE")
		if err != nil {
			// Another process may have added it meanwhile.
			if ok, herr := has(); herr == nil && ok {
				return nil
			}
			if isFenceViolation(err) {
				return fmt.Errorf("%w: the table holds rows of tenants the catalog does not have (a dropped tenant's leftovers): delete them, then open again", err)
			}
		}
		return err
	}
	return nil
}

// isFenceViolation reports whether err is a shared table's fence refusing
// a row of a tenant the catalog does not have.
func isFenceViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503" && strings.HasPrefix(pg.ConstraintName, fencePrefix)
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return (my.Number == 1452 || my.Number == 1216) && strings.Contains(my.Message, fencePrefix)
	}
	return strings.Contains(err.Error(), fenceMessage)
}

// fenceError maps a fence's refusal to ErrTenantNotFound.
func fenceError(err error) error {
	if isFenceViolation(err) && !errors.Is(err, ErrTenantNotFound) {
		return fmt.Errorf("%w: the tenant was dropped (or never made) while this call ran: %w", ErrTenantNotFound, err)
	}
	return err
}

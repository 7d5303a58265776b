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

// The fence keeps a dropped tenant's writes out of a shared table in the
// database itself, not only in the memory of the processes that heard of
// the drop. Every shared table's tenant column refers to the catalog's
// tenant row: on PostgreSQL and MySQL a foreign key (ON DELETE CASCADE), on
// SQLite, whose ALTER TABLE cannot add one, triggers that refuse an insert
// or a change of tenant without its catalog row. So:
//
//   - a transaction that was open for the tenant while Drop ran cannot
//     leave a row behind: its insert holds a share lock on the catalog row,
//     Drop's delete of that row waits for it to end, and the cascade then
//     removes what it wrote (SQLite runs one writer at a time: Drop's delete
//     comes after the commit);
//   - another process that still has the tenant cached gets an error from
//     the database (ErrTenantNotFound) for a write after the drop, so a new
//     tenant of the same id never sees it.
//
// A soft drop (Retain) keeps the catalog row, and with it the rows; Purge
// removes both.

// fencePrefix begins the name of every fence, so an error can be told to
// come from one.
const fencePrefix = "tm_fence_"

// fenceMessage is what SQLite's fence triggers raise.
const fenceMessage = "tenantmap fence: the tenant is not in the catalog"

func fenceName(d dialect.Dialect, table string) string {
	return fitIdent(fencePrefix+table, d.MaxIdentifierLength())
}

// ensureFence gives the shared table of mp its fence if it lacks one.
// Rows whose tenant is not in the catalog (left by a drop before fences
// existed) are deleted first: they belong to no tenant, and would surface
// in a new tenant of the same id.
func (db *DB) ensureFence(ctx context.Context, q querier, schema, table string) error {
	d := db.dialect
	name := fenceName(d, table)
	qtable := qualifiedIdent(d, schema, table)
	qcat := qualifiedIdent(d, db.cat.schema, CatalogTable)
	tcol, idcol := dialect.Quote(d, TenantColumn), dialect.Quote(d, "id")
	var exists bool
	var stmts []string
	orphans := "DELETE FROM " + qtable + " WHERE " + tcol + " NOT IN (SELECT " + idcol + " FROM " + qcat + ")"
	switch d.Name() {
	case "postgres":
		if err := q.queryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)", qtable, name).Scan(&exists); err != nil {
			return err
		}
		stmts = []string{orphans, "ALTER TABLE " + qtable + " ADD CONSTRAINT " + dialect.Quote(d, name) +
			" FOREIGN KEY (" + tcol + ") REFERENCES " + qcat + " (" + idcol + ") ON DELETE CASCADE"}
	case "mysql":
		var home string
		if err := q.queryRow(ctx, "SELECT DATABASE()").Scan(&home); err != nil {
			return err
		}
		in := schema
		if in == "" {
			in = home
		}
		var n int64
		if err := q.queryRow(ctx, "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?", in, table, name).Scan(&n); err != nil {
			return err
		}
		exists = n > 0
		if db.cat.schema == "" {
			qcat = qualifiedIdent(d, home, CatalogTable) // the child's database may be another
		}
		stmts = []string{orphans, "ALTER TABLE " + qtable + " ADD CONSTRAINT " + dialect.Quote(d, name) +
			" FOREIGN KEY (" + tcol + ") REFERENCES " + qcat + " (" + idcol + ") ON DELETE CASCADE"}
	case "sqlite":
		var n int64
		if err := q.queryRow(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?", name+"_ins").Scan(&n); err != nil {
			return err
		}
		exists = n > 0
		check := " WHEN NOT EXISTS (SELECT 1 FROM " + qcat + " WHERE " + idcol + " = NEW." + tcol + ") BEGIN SELECT RAISE(ABORT, '" + fenceMessage + "'); END"
		stmts = []string{orphans,
			"CREATE TRIGGER IF NOT EXISTS " + dialect.Quote(d, name+"_ins") + " BEFORE INSERT ON " + qtable + check,
			"CREATE TRIGGER IF NOT EXISTS " + dialect.Quote(d, name+"_upd") + " BEFORE UPDATE OF " + tcol + " ON " + qtable + check,
		}
	default:
		return nil
	}
	if exists {
		return nil
	}
	for _, s := range stmts {
		if _, err := q.exec(ctx, s); err != nil {
			return ddlError(err, s)
		}
	}
	return nil
}

// ensureFences fences every shared table the catalog records (an upgrade
// of tables made before fences existed); Open runs it where it may run DDL.
func (db *DB) ensureFences(ctx context.Context) error {
	shared, err := db.cat.sharedTables(ctx, db.be)
	if err != nil {
		return err
	}
	for _, p := range shared {
		err := db.ensureFence(ctx, db.be, p.schema, p.table)
		if err != nil && !isUndefinedObject(err) { // recorded but not there: Create makes it
			return err
		}
	}
	return nil
}

// isFenceViolation reports whether err is a shared table's fence refusing
// a write for a tenant the catalog no longer has.
func isFenceViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503" && strings.HasPrefix(pg.ConstraintName, fencePrefix)
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1452 && strings.Contains(my.Message, "`"+fencePrefix)
	}
	return strings.Contains(err.Error(), fenceMessage)
}

// fenceError turns a fence's refusal into ErrTenantNotFound.
func fenceError(err error) error {
	if err != nil && !errors.Is(err, ErrTenantNotFound) && isFenceViolation(err) {
		return fmt.Errorf("%w: the tenant was dropped while this write ran, or another process dropped it: %w", ErrTenantNotFound, err)
	}
	return err
}

package tenantmap

import (
	"context"
	"fmt"
)

// ProvisionSQL returns the statements Create runs for a tenant whose key is
// key in the DB's own database, for benchmarks that issue the same DDL
// through the driver.
func ProvisionSQL(db *DB, key string) ([]string, error) {
	p, err := db.provisionDDL(db.snapshotBindings(), key)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(p.stmts))
	for i, s := range p.stmts {
		out[i] = s.sql
	}
	return out, nil
}

// StatementsKept is how many prepared statements db's pool keeps (SQLite
// and MySQL), -1 if it keeps none.
func StatementsKept(db *DB) int {
	if b, ok := db.be.(*sqlBackend); ok && b.stmts != nil {
		return b.stmts.len()
	}
	return -1
}

// ConnSettings reports what a PostgreSQL DB's connections run with: the
// server's plan_cache_mode, whether tenants have home connections, and the
// statements each connection keeps.
func ConnSettings(ctx context.Context, db *DB) (planCacheMode string, affine bool, statements int, err error) {
	err = db.be.queryRow(ctx, "SHOW plan_cache_mode").Scan(&planCacheMode)
	return planCacheMode, db.shards != nil, db.pgConnConfig.StatementCacheCapacity, err
}

// LexTokens lexes s as db's dialect does for raw statements and returns
// the {name} tokens it finds outside literals and comments.
func LexTokens(db *DB, s string) ([]string, error) {
	var names []string
	_, err := scanSQL(s, db.dialect.Syntax(), func(tok sqlToken) error {
		if tok.kind == tokTable {
			names = append(names, tok.text)
		}
		return nil
	})
	return names, err
}

// AdminExec runs a statement that names no model on db's own database, as
// no tenant in particular (under row-level security, as the tenant "none",
// which owns no rows): for tests' setup and checks, which raw DB.Exec no
// longer serves since it refuses a tenant that does not exist. ? stands
// for each argument, as in DB.Exec.
func AdminExec(ctx context.Context, db *DB, sql string, args ...any) (int64, error) {
	stmt, err := adminStatement(db, sql)
	if err != nil {
		return 0, err
	}
	return db.backendFor("none", "").exec(ctx, stmt, args...)
}

// AdminQuery is AdminExec for a query.
func AdminQuery(ctx context.Context, db *DB, sql string, args ...any) (*Rows, error) {
	stmt, err := adminStatement(db, sql)
	if err != nil {
		return nil, err
	}
	r, err := db.backendFor("none", "").query(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	return &Rows{r: r}, nil
}

// adminStatement renders ? as the dialect's placeholders and refuses
// {name} tokens.
func adminStatement(db *DB, sql string) (string, error) {
	var b []byte
	n := 0
	_, err := scanSQL(sql, db.dialect.Syntax(), func(tok sqlToken) error {
		switch tok.kind {
		case tokTable:
			return fmt.Errorf("%w: an admin statement names no model ({%s})", ErrInvalidQuery, tok.text)
		case tokPlaceholder:
			n++
			b = db.dialect.AppendPlaceholder(b, n)
		default:
			b = append(b, tok.text...)
		}
		return nil
	})
	return string(b), err
}

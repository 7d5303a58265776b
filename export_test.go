package tenantmap

import "context"

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

package tenantmap

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

package postgres

import "github.com/tenantmap/tenantmap/dialect"

var _ dialect.Upserter = Dialect{}

// AppendOnConflictNothing appends ON CONFLICT (target) DO NOTHING.
func (Dialect) AppendOnConflictNothing(b []byte, target []string, _ string) []byte {
	return append(dialect.AppendOnConflictTarget(b, target), "NOTHING"...)
}

// AppendOnConflictUpdate appends ON CONFLICT (target) DO UPDATE SET; the
// generated key comes back through RETURNING.
func (Dialect) AppendOnConflictUpdate(b []byte, target []string, _ string) []byte {
	return append(dialect.AppendOnConflictTarget(b, target), "UPDATE SET "...)
}

// AppendInserted appends EXCLUDED.col.
func (Dialect) AppendInserted(b []byte, col string) []byte {
	return append(append(b, "EXCLUDED."...), col...)
}

// ConflictTargetEnforced is true: ON CONFLICT names its unique index.
func (Dialect) ConflictTargetEnforced() bool { return true }

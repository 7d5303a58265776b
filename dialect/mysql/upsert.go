package mysql

import "github.com/tenantmap/tenantmap/dialect"

var _ dialect.Upserter = Dialect{}

// AppendOnConflictNothing appends ON DUPLICATE KEY UPDATE key = key, an
// update that changes nothing, which also sets the statement's insert id to
// 2^64-1 (-1 to the driver): with CLIENT_FOUND_ROWS the rows affected are 1
// whether the row was inserted or left. INSERT IGNORE is not used: it also
// turns data errors into warnings.
func (Dialect) AppendOnConflictNothing(b []byte, _ []string, key string) []byte {
	b = append(b, " ON DUPLICATE KEY UPDATE "...)
	b = append(b, key...)
	b = append(b, " = IF(LAST_INSERT_ID(18446744073709551615), "...)
	b = append(b, key...)
	b = append(b, ", "...)
	b = append(b, key...)
	return append(b, ')')
}

// AppendOnConflictUpdate appends ON DUPLICATE KEY UPDATE, and for a
// generated key autoKey = LAST_INSERT_ID(autoKey), so that the last insert
// id names the updated row.
func (Dialect) AppendOnConflictUpdate(b []byte, _ []string, autoKey string) []byte {
	b = append(b, " ON DUPLICATE KEY UPDATE "...)
	if autoKey != "" {
		b = append(b, autoKey...)
		b = append(b, " = LAST_INSERT_ID("...)
		b = append(b, autoKey...)
		b = append(b, "), "...)
	}
	return b
}

// AppendInserted appends VALUES(col), which MariaDB and MySQL both read
// (MySQL 8.0.20 deprecates it for a row alias MariaDB lacks).
func (Dialect) AppendInserted(b []byte, col string) []byte {
	return append(append(append(b, "VALUES("...), col...), ')')
}

// ConflictTargetEnforced is false: ON DUPLICATE KEY fires on any unique index.
func (Dialect) ConflictTargetEnforced() bool { return false }
